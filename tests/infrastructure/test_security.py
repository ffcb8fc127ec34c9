"""Security of the deployment, over every synthesized variant: least-privilege IAM, who may
invoke the function, and no secrets in the templates or the image."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
import pytest

from infra.constructs.model_function import DOCKERFILE, LIBRARY_ENVIRONMENT, image_context
from tests.infrastructure.synth import REPO_ROOT, STAGING_PREFIX, VARIANTS, SynthesizedApp
from tests.infrastructure.test_dockerfile import instructions
from tests.infrastructure.test_runtime_settings import OWN_VARIABLES

AWS_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}\b")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
SECRET_NAME = re.compile(r"secret|password|passwd|token|credential|private|api_?key", re.IGNORECASE)
X_RAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
PACKAGE = "model_artifacts/transaction-classifier"
SECRET_FILES = [".env", "lambda_image/inference/.env.production", f"{PACKAGE}/credentials", f"{PACKAGE}/tls.pem",
                f"{PACKAGE}/.aws/config", "lambda_image/inference/id_rsa", f"{PACKAGE}/signing.key"]  # fmt: skip


def statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, statement) of every IAM policy document: identity and resource policies."""
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        documents = [properties.get("PolicyDocument"), properties.get("AssumeRolePolicyDocument")]
        documents += [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
        for document in filter(None, documents):
            for statement in document["Statement"]:
                yield logical_id, statement


def literal_strings_under_secret_names(node: Any) -> Iterator[str]:
    """Names like "password" or "apiKey" holding a literal string (not a Ref or a generated value)."""
    if isinstance(node, dict):
        for name, value in node.items():
            if SECRET_NAME.search(name) and isinstance(value, str) and value:
                yield name
            yield from literal_strings_under_secret_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from literal_strings_under_secret_names(item)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module", params=list(VARIANTS))
def app(request, synthesize) -> SynthesizedApp:
    return synthesize(request.param)


def app_stack(app: SynthesizedApp) -> dict[str, Any]:
    (template,) = [body for name, body in app.templates.items() if not name.startswith(STAGING_PREFIX)]
    return template


def test_no_stack_allows_a_wildcard_action(app: SynthesizedApp) -> None:
    """Every grant names its actions, in the app stack and in the staging stack (infra/staging.py
    narrows CDK's bucket grants). Deny statements, like the TLS-only ones, may say s3:*: they only restrict."""
    for stack_name, template in app.templates.items():
        allowed = [(logical_id, s) for logical_id, s in statements(template) if s["Effect"] == "Allow"]
        assert allowed, stack_name
        for logical_id, statement in allowed:
            assert not [action for action in as_list(statement["Action"]) if "*" in action], (stack_name, logical_id)


# CloudWatch Logs' log-delivery actions, which Step Functions logging (the bulk job) needs, have no
# resource-level permissions: "*" is the only resource they take.
LOG_DELIVERY_ACTIONS = {
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
}


def test_the_app_stack_allows_no_wildcard_resource_but_for_x_ray_and_log_delivery(app: SynthesizedApp) -> None:
    """X-Ray's actions (xray_tracing=true) and log delivery's have no resource-level permissions."""
    for logical_id, statement in statements(app_stack(app)):
        if statement["Effect"] == "Allow" and "*" in as_list(statement.get("Resource", [])):
            actions = set(as_list(statement["Action"]))
            assert actions == X_RAY_ACTIONS or actions <= LOG_DELIVERY_ACTIONS, logical_id


def test_only_this_api_and_the_warmup_rule_may_invoke_the_function(app: SynthesizedApp) -> None:
    permissions = [
        r["Properties"] for r in app_stack(app)["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"
    ]
    assert permissions
    for permission in permissions:
        assert permission["Action"] == "lambda:InvokeFunction"
        assert permission["Principal"] in {"apigateway.amazonaws.com", "events.amazonaws.com"}
        assert "SourceArn" in permission


def test_templates_hold_no_credentials_or_private_keys(app: SynthesizedApp) -> None:
    text = json.dumps(app.templates)
    assert not AWS_ACCESS_KEY_ID.findall(text)
    assert not PRIVATE_KEY.findall(text)
    assert not list(literal_strings_under_secret_names(app.templates))


def test_function_environment_holds_settings_only(app: SynthesizedApp) -> None:
    for template in app.templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            assert set(variables) <= OWN_VARIABLES | set(LIBRARY_ENVIRONMENT)
            assert not [name for name in variables if SECRET_NAME.search(name)]


@pytest.mark.parametrize("path", SECRET_FILES)
def test_secret_looking_files_never_enter_the_image_build_context(path: str) -> None:
    context = cdk.IgnoreStrategy.from_copy_options(
        cdk.CopyOptions(exclude=image_context("transaction-classifier", "model.pt"), ignore_mode=cdk.IgnoreMode.DOCKER),
        str(REPO_ROOT),
    )
    assert context.ignores(str(REPO_ROOT / path))
    assert not context.ignores(str(REPO_ROOT / "lambda_image" / "inference" / "handler.py"))


def test_the_built_image_context_holds_no_secrets(default_app: SynthesizedApp) -> None:
    context_dir = default_app.image_context
    for path in context_dir.rglob("*"):
        if path.is_file() and path.suffix not in (".pt", ".onnx"):  # graphs are binary
            text = path.read_text(errors="replace")
            assert not AWS_ACCESS_KEY_ID.findall(text) and not PRIVATE_KEY.findall(text), path


def test_the_dockerfile_copies_only_code_requirements_and_model_and_takes_no_secrets() -> None:
    assert DOCKERFILE == "lambda_image/Dockerfile"
    sources = {
        source for args in instructions("COPY") if not args.startswith("--from=") for source in args.split()[:-1]
    }
    assert sources == {
        "lambda_image/requirements.txt",
        "lambda_image/requirements-onnx.txt",
        "lambda_image/constraints.txt",
        "model_artifacts/${PACKAGE}/",
        "lambda_image/inference/",
    }
    # The build arguments pick the backend, the package and its graph (infra/constructs/model_function.py).
    assert set(instructions("ARG")) == {"BACKEND=torch", "PACKAGE=transaction-classifier", "GRAPH=model.pt"}
    assert not instructions("ADD")
    assert not [env for env in instructions("ENV") if SECRET_NAME.search(env)]
