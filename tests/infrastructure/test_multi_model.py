"""Several models in one app (`-c models=a,b`): a function, log group, warm-up, alarms, dashboard
rows, image repository and route per package; POST /predict for the first; GET /models answered by
API Gateway itself from a document written at synth (docs/deploy.md, "Several models")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from app import build_app
from deployment.catalog import PACKAGES_DIR, models_document, served_packages
from inference.tasks import contract as task_contract
from inference.tasks import read_package
from infra.constructs.rest_api import listing_template
from tests.infrastructure.synth import CDK_CONTEXT, TEST_CONTEXT, UNSTAGED, VARIANTS, SynthesizedApp
from tests.infrastructure.test_observability import dashboard_widgets, graphed_metrics
from tests.infrastructure.test_stack import methods, model_function_ids

MODELS = VARIANTS["multi_model"]["models"].split(",")  # every demo package


@pytest.fixture(scope="module")
def app(synthesize) -> SynthesizedApp:
    return synthesize("multi_model")


@pytest.fixture(scope="module")
def template(app: SynthesizedApp) -> Template:
    return app.app_template


@pytest.fixture(scope="module")
def functions(template: Template) -> dict[str, dict[str, Any]]:
    """Each model function's properties, by package name."""
    resources = template.to_json()["Resources"]
    return {name: resources[function_id]["Properties"] for name, function_id in model_function_ids(template).items()}


def rendered_listing(template: Template) -> tuple[list[str], Any]:
    """GET /models' mapping template as Velocity renders it: the directive lines (which print
    nothing) and the JSON of the last line, which holds no `$` or `#` Velocity could interpret."""
    get = methods(template)["/models", "GET"]
    (response,) = get["Integration"]["IntegrationResponses"]
    *directives, body = response["ResponseTemplates"]["application/json"].split("\n")
    assert "$" not in body and "#" not in body
    return directives, json.loads(body)


def test_each_package_gets_an_image_function_serving_it_with_its_own_memory(
    functions: dict[str, dict[str, Any]],
) -> None:
    assert sorted(functions) == sorted(MODELS)
    assert {name: function["MemorySize"] for name, function in functions.items()} == {
        "transaction-classifier": 2048,  # memory_mb
        "embeddings": 1024,  # model_memory_mb=embeddings=1024,digits=512
        "merchant-normalizer": 2048,
        "digits": 512,
    }
    for name, function in functions.items():
        assert function["PackageType"] == "Image"
        assert function["Environment"]["Variables"]["MODEL_NAME"] == name
        assert function["Environment"]["Variables"]["MODEL_DIR"] == "/opt/ml/model"
        assert f"/pytorchinferenceapi/{name}:" in function["Code"]["ImageUri"]["Fn::Sub"]


def test_each_image_is_built_from_its_own_package_only(app: SynthesizedApp) -> None:
    manifest = json.loads((app.directory / f"{CDK_CONTEXT['stack_name']}.assets.json").read_text())
    images = {image["source"]["dockerBuildArgs"]["PACKAGE"]: image for image in manifest["dockerImages"].values()}
    assert sorted(images) == sorted(MODELS)
    for name, image in images.items():
        context = app.directory / image["source"]["directory"]
        assert [path.name for path in (context / "model_artifacts").iterdir()] == [name]
        (destination,) = image["destinations"].values()
        assert destination["repositoryName"] == f"pytorchinferenceapi/{name}"


def test_each_package_has_its_own_expiring_ecr_repository(app: SynthesizedApp) -> None:
    repositories = app.staging_template.find_resources("AWS::ECR::Repository").values()
    assert sorted(repository["Properties"]["RepositoryName"] for repository in repositories) == sorted(
        f"pytorchinferenceapi/{name}" for name in MODELS
    )
    for repository in repositories:
        (rule,) = json.loads(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        assert rule["selection"]["countNumber"] == 5


def test_each_function_logs_to_a_log_group_of_its_own(template: Template, functions: dict[str, dict[str, Any]]) -> None:
    log_groups = {function["LoggingConfig"]["LogGroup"]["Ref"] for function in functions.values()}
    assert len(log_groups) == len(MODELS)
    assert log_groups <= set(template.find_resources("AWS::Logs::LogGroup"))


def test_each_package_has_its_route_and_the_first_also_answers_predict(template: Template) -> None:
    function_ids = model_function_ids(template)
    routes = methods(template)
    targets = {
        path: next(
            name for name, function_id in function_ids.items() if function_id in json.dumps(method["Integration"])
        )
        for (path, verb), method in routes.items()
        if verb == "POST"
    }
    assert targets == {
        "/predict": "transaction-classifier",
        "/models/transaction-classifier/predict": "transaction-classifier",
        "/models/embeddings/predict": "embeddings",
        "/models/merchant-normalizer/predict": "merchant-normalizer",
        "/models/digits/predict": "digits",
    }
    for name in MODELS:
        assert (f"/models/{name}/predict", "ANY") in routes and (f"/models/{name}", "ANY") in routes


def test_each_route_validates_against_its_own_packages_contract(template: Template) -> None:
    routes = methods(template)
    resources = template.to_json()["Resources"]

    def schema(path: str) -> dict[str, Any]:
        models = routes[path, "POST"]["RequestModels"]
        assert set(models) == {"application/json"}
        return resources[models["application/json"]["Ref"]]["Properties"]["Schema"]

    assert schema("/predict") == schema("/models/transaction-classifier/predict")
    assert "top_k" in schema("/predict")["properties"]
    # Embeddings rank nothing: their contract has text and texts only.
    assert set(schema("/models/embeddings/predict")["properties"]) == {"text", "texts"}
    # A custom package's contract is its predictor.py's Request; an image package's, images.
    assert set(schema("/models/merchant-normalizer/predict")["properties"]) == {"sentence", "sentences"}
    assert set(schema("/models/digits/predict")["properties"]) == {"image", "images", "top_k"}


def test_get_models_is_answered_by_api_gateway_with_every_package_in_order(template: Template) -> None:
    get = methods(template)["/models", "GET"]
    assert get["Integration"]["Type"] == "MOCK"
    assert get["AuthorizationType"] == methods(template)["/predict", "POST"]["AuthorizationType"]
    _, listing = rendered_listing(template)
    assert listing == models_document(served_packages(MODELS, "torch", "fp32"))
    assert [(model["name"], model["task"], model["route"]) for model in listing["models"]] == [
        ("transaction-classifier", "text-classification", "/models/transaction-classifier/predict"),
        ("embeddings", "feature-extraction", "/models/embeddings/predict"),
        ("merchant-normalizer", "custom", "/models/merchant-normalizer/predict"),
        ("digits", "image-classification", "/models/digits/predict"),
    ]
    assert listing["models"][1]["model"] == "all-minilm-l6-v2"
    # Each example is a request its own contract takes (a text, a sentence, an image).
    fields = [set(model["example"]) for model in listing["models"]]
    assert [bool(f & {"text", "texts"}) for f in fields] == [True, True, False, False]
    assert fields[2] & {"sentence", "sentences"} and fields[3] & {"image", "images"}


def test_the_listing_sets_only_response_headers_before_its_json(template: Template) -> None:
    directives, _ = rendered_listing(template)
    assert directives == ["#set($context.responseOverride.header.X-Request-Id = $context.requestId)"]


def test_the_listing_survives_velocity_characters_in_a_package_description() -> None:
    document = {"models": [{"name": "a", "model": "$input.body ## not a comment #if(", "version": "\\$1 #end"}]}
    *_, body = listing_template(document, ()).split("\n")
    assert "$" not in body and "#" not in body
    assert json.loads(body) == document


def test_the_listing_answers_cors_for_the_configured_origins_only() -> None:
    *directives, _ = listing_template({"models": []}, ("https://app.example.com", "https://admin.example.com")).split(
        "\n"
    )
    condition = '#if($origin == "https://app.example.com" || $origin == "https://admin.example.com")'
    assert any(line.startswith(condition) for line in directives)
    assert "Access-Control-Allow-Origin = '*'" in listing_template({"models": []}, ("*",))


def test_each_function_is_kept_warm(template: Template) -> None:
    rules = template.find_resources("AWS::Events::Rule").values()
    targets = {json.dumps(rule["Properties"]["Targets"][0]["Arn"]) for rule in rules}
    assert targets == {
        json.dumps({"Fn::GetAtt": [function_id, "Arn"]}) for function_id in model_function_ids(template).values()
    }


def test_each_function_has_its_error_and_throttle_alarms(template: Template) -> None:
    alarms = template.find_resources("AWS::CloudWatch::Alarm").values()
    watched = sorted(
        (alarm["Properties"]["MetricName"], alarm["Properties"]["Dimensions"][0]["Value"]["Ref"])
        for alarm in alarms
        if alarm["Properties"]["Namespace"] == "AWS/Lambda"
    )
    assert watched == sorted(
        (metric, function_id)
        for function_id in model_function_ids(template).values()
        for metric in ("Errors", "Throttles")
    )
    assert len(alarms) == 2 * len(MODELS) + 3  # and the API's 5xx and latency, the bulk job's failures


def test_the_dashboard_has_each_functions_rows(template: Template) -> None:
    metrics = graphed_metrics(template)
    log_queries = [widget["properties"]["query"] for widget in dashboard_widgets(template) if widget["type"] == "log"]
    for name, function_id in model_function_ids(template).items():
        function = ("FunctionName", f"<{function_id}>")
        assert {
            ("AWS/Lambda", "Invocations", *function, "Sum"),
            ("AWS/Lambda", "Duration", *function, "p99"),
        } <= metrics
        assert any(metric[1] == "ColdStart" and f"<{function_id}>" in metric for metric in metrics), name
    assert len(log_queries) == len(MODELS)


def test_outputs_name_each_models_function_and_the_listing(template: Template) -> None:
    outputs = template.find_outputs("*")
    assert outputs["ApiUrl"]["Value"]["Fn::Join"][1][-1] == "/predict"
    assert outputs["ModelsUrl"]["Value"]["Fn::Join"][1][-1] == "/models"
    names = outputs["ModelFunctionNames"]["Value"]["Fn::Join"][1]
    assert [part["Ref"] for part in names if isinstance(part, dict)] == list(model_function_ids(template).values())


def test_the_bulk_job_scores_with_the_first_model(template: Template) -> None:
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    definition = json.dumps(machine["Properties"]["DefinitionString"])
    first, *others = (model_function_ids(template)[name] for name in MODELS)
    assert first in definition and not any(other in definition for other in others)


def test_without_image_packages_the_api_takes_no_binary_bodies(synthesize) -> None:
    (api,) = synthesize("default").app_template.find_resources("AWS::ApiGateway::RestApi").values()
    assert "BinaryMediaTypes" not in api["Properties"]


def test_an_image_package_lets_png_and_jpeg_bodies_through_to_its_function(tmp_path: Path) -> None:
    context = {**CDK_CONTEXT, **TEST_CONTEXT, **UNSTAGED, "models": "transaction-classifier,digits"}
    template = Template.from_json(
        build_app(context, outdir=str(tmp_path / "cdk.out"))
        .synth()
        .get_stack_by_name(CDK_CONTEXT["stack_name"])
        .template
    )
    (api,) = template.find_resources("AWS::ApiGateway::RestApi").values()
    assert sorted(api["Properties"]["BinaryMediaTypes"]) == ["image/jpeg", "image/png"]
    # Only JSON bodies have a schema: an image body goes to the function, which checks it.
    post = methods(template)["/models/digits/predict", "POST"]
    assert set(post["RequestModels"]) == {"application/json"}
    _, listing = rendered_listing(template)
    digits = read_package(PACKAGES_DIR / "digits")
    assert listing["models"][1] == {
        "name": "digits",
        "model": digits.name,
        "task": "image-classification",
        "version": digits.version,
        "route": "/models/digits/predict",
        "example": task_contract(digits).example,
    }
