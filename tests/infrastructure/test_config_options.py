"""Each config option, switched on alone, changes the template the way it says."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from app import build_app
from deployment.settings import SettingsError
from tests.infrastructure.synth import CDK_CONTEXT, SynthesizedApp
from tests.infrastructure.test_stack import ALARMS, methods, model_function


def test_arm64_builds_an_arm64_image_for_an_arm64_function(synthesize) -> None:
    app: SynthesizedApp = synthesize("arm64")
    app.app_template.has_resource_properties("AWS::Lambda::Function", {"Architectures": ["arm64"]})
    (assets_file,) = app.directory.glob("PytorchInferenceApi.assets.json")
    (image,) = json.loads(assets_file.read_text())["dockerImages"].values()
    assert image["source"]["platform"] == "linux/arm64"


def test_onnx_backend_builds_the_onnx_image_and_tells_the_function(synthesize) -> None:
    app: SynthesizedApp = synthesize("onnx")
    app.app_template.has_resource_properties(
        "AWS::Lambda::Function", {"Environment": {"Variables": Match.object_like({"MODEL_BACKEND": "onnx"})}}
    )
    (assets_file,) = app.directory.glob("PytorchInferenceApi.assets.json")
    (image,) = json.loads(assets_file.read_text())["dockerImages"].values()
    assert image["source"]["dockerBuildArgs"] == {
        "BACKEND": "onnx",
        "PACKAGE": "transaction-classifier",
        "GRAPH": "model.onnx",
    }


def test_warmup_off_removes_the_rule(synthesize) -> None:
    template = synthesize("warmup_off").app_template
    template.resource_count_is("AWS::Events::Rule", 0)
    template.resource_properties_count_is("AWS::Lambda::Permission", {"Principal": "events.amazonaws.com"}, 0)


def test_dashboard_off_removes_the_dashboard_and_its_outputs_but_keeps_the_alarms(synthesize) -> None:
    template = synthesize("dashboard_off").app_template
    template.resource_count_is("AWS::CloudWatch::Dashboard", 0)
    assert not {"DashboardName", "DashboardUrl"} & set(template.find_outputs("*"))
    template.resource_count_is("AWS::CloudWatch::Alarm", ALARMS)


def test_api_key_requires_a_key_on_every_method_and_adds_a_throttled_usage_plan(synthesize) -> None:
    template = synthesize("api_key").app_template
    template.all_resources_properties("AWS::ApiGateway::Method", {"ApiKeyRequired": True})
    template.resource_count_is("AWS::ApiGateway::ApiKey", 1)
    (stage_id,) = template.find_resources("AWS::ApiGateway::Stage")
    template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "ApiStages": [{"Stage": {"Ref": stage_id}}],
            "Throttle": {"RateLimit": 50, "BurstLimit": 100},
        },
    )
    template.has_resource_properties("AWS::ApiGateway::UsagePlanKey", {"KeyType": "API_KEY"})
    (api_key_id,) = template.find_resources("AWS::ApiGateway::ApiKey")
    assert template.find_outputs("ApiKeyId")["ApiKeyId"]["Value"] == {"Ref": api_key_id}


def test_api_key_value_never_appears_in_the_template(synthesize) -> None:
    (api_key,) = synthesize("api_key").app_template.find_resources("AWS::ApiGateway::ApiKey").values()
    assert "Value" not in api_key.get("Properties", {})


def test_iam_auth_requires_sigv4_on_every_method(synthesize) -> None:
    template = synthesize("iam_auth").app_template
    template.resource_count_is("AWS::ApiGateway::Method", 9)
    template.all_resources_properties("AWS::ApiGateway::Method", {"AuthorizationType": "AWS_IAM"})
    assert template.find_outputs("AuthMode")["AuthMode"]["Value"] == "AWS_IAM"


def test_provisioned_concurrency_puts_a_live_alias_in_front_of_the_function(synthesize) -> None:
    template = synthesize("provisioned_concurrency").app_template
    (version_id,) = template.find_resources("AWS::Lambda::Version", {"DeletionPolicy": "Delete"})
    template.has_resource_properties(
        "AWS::Lambda::Alias",
        {
            "Name": "live",
            "FunctionVersion": {"Fn::GetAtt": [version_id, "Version"]},
            "ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 2},
        },
    )
    (alias_id,) = template.find_resources("AWS::Lambda::Alias")
    # The API and the warm-up both invoke the alias, where the concurrency is provisioned.
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {"HttpMethod": "POST", "Integration": {"Uri": {"Fn::Join": ["", Match.array_with([{"Ref": alias_id}])]}}},
    )
    template.has_resource_properties("AWS::Events::Rule", {"Targets": [Match.object_like({"Arn": {"Ref": alias_id}})]})


def test_snapstart_snapshots_published_versions_which_the_api_and_the_warmup_invoke(synthesize) -> None:
    template = synthesize("snapstart").app_template
    template.has_resource_properties("AWS::Lambda::Function", {"SnapStart": {"ApplyOn": "PublishedVersions"}})
    (version_id,) = template.find_resources("AWS::Lambda::Version", {"DeletionPolicy": "Delete"})
    (alias,) = template.find_resources("AWS::Lambda::Alias").values()
    assert alias["Properties"]["Name"] == "live"
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    assert "ProvisionedConcurrencyConfig" not in alias["Properties"]
    (alias_id,) = template.find_resources("AWS::Lambda::Alias")
    proxied = template.find_resources("AWS::ApiGateway::Method", {"Properties": {"Integration": {"Type": "AWS_PROXY"}}})
    assert len(proxied) == 8  # every method but GET /models (API Gateway's own answer)
    assert all(
        {"Ref": alias_id} in method["Properties"]["Integration"]["Uri"]["Fn::Join"][1] for method in proxied.values()
    )
    template.has_resource_properties("AWS::Events::Rule", {"Targets": [Match.object_like({"Arn": {"Ref": alias_id}})]})
    # Only the alias may be invoked by the API and the rule: never the unpublished $LATEST.
    permissions = template.find_resources("AWS::Lambda::Permission").values()
    assert permissions and all(p["Properties"]["FunctionName"] == {"Ref": alias_id} for p in permissions)


def test_snapstart_is_off_by_default(template) -> None:
    function = model_function(template)
    assert "SnapStart" not in function["Properties"]


def test_ephemeral_storage_sizes_tmp(synthesize, template) -> None:
    template.has_resource_properties("AWS::Lambda::Function", {"EphemeralStorage": {"Size": 512}})
    synthesize("ephemeral_storage").app_template.has_resource_properties(
        "AWS::Lambda::Function", {"EphemeralStorage": {"Size": 2048}}
    )


def test_xray_tracing_traces_the_stage_and_the_function(synthesize, template) -> None:
    traced = synthesize("xray_tracing").app_template
    traced.has_resource_properties("AWS::ApiGateway::Stage", {"TracingEnabled": True})
    traced.has_resource_properties("AWS::Lambda::Function", {"TracingConfig": {"Mode": "Active"}})
    template.has_resource_properties("AWS::ApiGateway::Stage", {"TracingEnabled": False})
    function = model_function(template)
    assert "TracingConfig" not in function["Properties"]


def test_access_logs_off_leaves_the_stage_without_them_and_their_log_group(synthesize) -> None:
    template = synthesize("access_logs_off").app_template
    (stage,) = template.find_resources("AWS::ApiGateway::Stage").values()
    assert "AccessLogSetting" not in stage["Properties"]
    default = synthesize("default").app_template
    assert len(template.find_resources("AWS::Logs::LogGroup")) == len(default.find_resources("AWS::Logs::LogGroup")) - 1
    assert "AccessLogGroupName" not in template.find_outputs("*")


def test_cors_answers_preflight_for_the_configured_origins(synthesize) -> None:
    template = synthesize("cors").app_template
    integration = methods(template)["/predict", "OPTIONS"]["Integration"]
    assert integration["Type"] == "MOCK"
    headers = integration["IntegrationResponses"][0]["ResponseParameters"]
    assert headers["method.response.header.Access-Control-Allow-Methods"] == "'GET,POST,OPTIONS'"
    # CDK answers with the first origin, and overrides it with any other allowed one the request came from.
    assert headers["method.response.header.Access-Control-Allow-Origin"] == "'https://app.example.com'"
    override = integration["IntegrationResponses"][0]["ResponseTemplates"]["application/json"]
    assert '$origin == "https://admin.example.com"' in override


def test_cors_origins_reach_the_function_which_sets_the_header_on_its_answers(synthesize) -> None:
    function = model_function(synthesize("cors").app_template)
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["CORS_ALLOW_ORIGINS"] == "https://app.example.com,https://admin.example.com"


def test_cors_is_off_by_default(template) -> None:
    template.resource_count_is("AWS::ApiGateway::Method", 9)
    template.resource_properties_count_is("AWS::ApiGateway::Method", {"HttpMethod": "OPTIONS"}, 0)


def test_a_bad_alarm_topic_arn_stops_the_app_with_one_line(tmp_path) -> None:
    # A queue's ARN, not a topic's: refused while the app is built, before anything is synthesized.
    bad = "arn:aws:sqs:us-east-1:123456789012:ops-alarms"
    with pytest.raises(SettingsError) as raised:
        build_app({**CDK_CONTEXT, "alarm_topic_arn": bad}, outdir=str(tmp_path))
    assert str(raised.value) == (
        f"alarm_topic_arn={bad} is not allowed: expected an SNS topic ARN like "
        "arn:aws:sns:us-east-1:123456789012:alarms, or empty for no existing topic"
    )
