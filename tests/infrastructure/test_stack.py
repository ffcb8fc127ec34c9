"""The default stack, property by property: what docs/deploy.md promises."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.infrastructure.synth import CDK_CONTEXT, SynthesizedApp

# Errors, throttles, API 5xx, p99 latency and, with the bulk job (on by default), failed jobs.
ALARMS = 5


def only(template: Template, resource_type: str) -> Mapping[str, Any]:
    (resource,) = template.find_resources(resource_type).values()
    return resource


def access_log_group(template: Template) -> str:
    """The logical id of the log group the stage writes its access logs to."""
    (stage,) = template.find_resources("AWS::ApiGateway::Stage").values()
    # arn:<partition>:logs:<region>:<account>:log-group:<name>, without the ":*" of GetAtt's Arn
    # (@aws-cdk/aws-apigateway:logGroupDestinationArnWithoutWildcard)
    (*_, name) = stage["Properties"]["AccessLogSetting"]["DestinationArn"]["Fn::Join"][1]
    return name["Ref"]


def model_function_ids(template: Template) -> dict[str, str]:
    """Each model function's logical id by the package it serves (its MODEL_NAME): the image
    functions (the other one empties the bulk bucket)."""
    functions = template.find_resources("AWS::Lambda::Function", {"Properties": {"PackageType": "Image"}})
    return {
        function["Properties"]["Environment"]["Variables"]["MODEL_NAME"]: function_id
        for function_id, function in functions.items()
    }


def model_function_id(template: Template) -> str:
    """The model function's logical id, in a template with one model."""
    (function_id,) = model_function_ids(template).values()
    return function_id


def model_function(template: Template) -> dict:
    return template.to_json()["Resources"][model_function_id(template)]


def resource_path(template: Template, reference: dict) -> str:
    """The API path of a method's ResourceId or a resource's ParentId: a Ref to a resource, or the root."""
    if "Fn::GetAtt" in reference:
        return ""
    resource = template.to_json()["Resources"][reference["Ref"]]["Properties"]
    return f"{resource_path(template, resource['ParentId'])}/{resource['PathPart']}"


def methods(template: Template) -> dict[tuple[str, str], dict]:
    """Every API method's properties by (path, HTTP method), the root being "/"."""
    return {
        (
            resource_path(template, method["Properties"]["ResourceId"]) or "/",
            method["Properties"]["HttpMethod"],
        ): method["Properties"]
        for method in template.find_resources("AWS::ApiGateway::Method").values()
    }


def request_schema(template: Template) -> dict:
    return only(template, "AWS::ApiGateway::Model")["Properties"]["Schema"]


def test_function_is_a_container_image_with_the_configured_size(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "PackageType": "Image",
            "Code": {
                "ImageUri": {"Fn::Sub": Match.string_like_regexp(r"/pytorchinferenceapi/transaction-classifier:")}
            },
            "MemorySize": 2048,
            "Architectures": ["x86_64"],
            "Timeout": 28,
        },
    )


def test_function_timeout_is_below_api_gateways_29_seconds(template: Template) -> None:
    assert model_function(template)["Properties"]["Timeout"] < 29


def test_function_role_may_only_write_its_own_log_group(template: Template) -> None:
    function = model_function(template)["Properties"]
    role = template.to_json()["Resources"][function["Role"]["Fn::GetAtt"][0]]
    assert "ManagedPolicyArns" not in role["Properties"]
    log_group_id = function["LoggingConfig"]["LogGroup"]["Ref"]
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Effect": "Allow",
                        "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
                    }
                ]
            }
        },
    )


def test_log_groups_have_retention_and_are_deleted_with_the_stack(template: Template) -> None:
    log_groups = template.find_resources("AWS::Logs::LogGroup")
    assert len(log_groups) >= 2  # the function's, the API's access logs, the bulk job's
    for log_group in log_groups.values():
        assert log_group["Properties"] == {"RetentionInDays": 30}
        assert (log_group["DeletionPolicy"], log_group["UpdateReplacePolicy"]) == ("Delete", "Delete")
    function_logs = model_function(template)["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert function_logs in log_groups


def test_api_access_logs_are_json_lines_without_bodies_or_query_strings(template: Template) -> None:
    (stage,) = template.find_resources("AWS::ApiGateway::Stage").values()
    setting = stage["Properties"]["AccessLogSetting"]
    assert access_log_group(template) in template.find_resources("AWS::Logs::LogGroup")
    # resourcePath is the route (/predict, /{proxy+}), never the path's values or the query string.
    assert json.loads(setting["Format"]) == {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTimeEpoch",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLatencyMs": "$context.responseLatency",
        "integrationLatencyMs": "$context.integrationLatency",
        "responseLength": "$context.responseLength",
        "errorType": "$context.error.responseType",
        "sourceIp": "$context.identity.sourceIp",
    }


def test_image_is_built_from_the_repo_root_with_the_lambda_dockerfile(default_app: SynthesizedApp) -> None:
    manifest = json.loads((default_app.directory / f"{CDK_CONTEXT['stack_name']}.assets.json").read_text())
    (image,) = manifest["dockerImages"].values()
    assert image["source"]["dockerFile"] == "lambda_image/Dockerfile"
    assert image["source"]["platform"] == "linux/amd64"


def test_image_context_holds_only_what_the_dockerfile_copies(default_app: SynthesizedApp) -> None:
    context_dir = default_app.image_context
    top_level = {path.name for path in context_dir.iterdir()}
    assert top_level == {"lambda_image", "model_artifacts"}
    assert {path.name for path in (context_dir / "lambda_image").iterdir()} == {
        "Dockerfile",
        "requirements.txt",
        "requirements-onnx.txt",
        "constraints.txt",
        "inference",
    }
    # the served package only, with only the graph the function runs
    assert [path.name for path in (context_dir / "model_artifacts").iterdir()] == ["transaction-classifier"]
    assert (context_dir / "model_artifacts" / "transaction-classifier" / "model.pt").is_file()
    assert (context_dir / "lambda_image" / "inference" / "handler.py").is_file()
    assert not list(context_dir.rglob("__pycache__"))


@pytest.mark.parametrize("path", ["/predict", "/models/transaction-classifier/predict"])
def test_predict_is_a_post_method_with_a_body_validator_and_the_request_model(template: Template, path: str) -> None:
    (validator_id,) = template.find_resources("AWS::ApiGateway::RequestValidator")
    (model_id,) = template.find_resources("AWS::ApiGateway::Model")
    post = methods(template)[path, "POST"]
    assert post["AuthorizationType"] == "NONE"
    assert post["RequestValidatorId"] == {"Ref": validator_id}
    assert post["RequestModels"] == {"application/json": {"Ref": model_id}}
    assert (post["Integration"]["Type"], post["Integration"]["IntegrationHttpMethod"]) == ("AWS_PROXY", "POST")
    assert model_function_id(template) in json.dumps(post["Integration"]["Uri"])
    template.has_resource_properties("AWS::ApiGateway::RequestValidator", {"ValidateRequestBody": True})


def test_request_model_takes_text_xor_texts_and_nothing_else(template: Template) -> None:
    schema = request_schema(template)
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["oneOf"] == [{"required": ["text"]}, {"required": ["texts"]}]
    assert set(schema["properties"]) == {"text", "texts", "top_k", "min_score"}


def test_request_model_refuses_empty_and_blank_texts_and_empty_batches(template: Template) -> None:
    properties = request_schema(template)["properties"]
    assert {key: properties["text"][key] for key in ("type", "minLength", "pattern")} == {
        "type": "string", "minLength": 1, "pattern": r"\S",
    }  # fmt: skip
    assert properties["texts"]["items"]["pattern"] == r"\S" and properties["texts"]["minItems"] == 1
    assert {properties["top_k"][key] for key in ("type", "minimum", "maximum")} == {"integer", 1, 10}
    assert {key: properties["min_score"][key] for key in ("type", "minimum", "maximum")} == {
        "type": "number", "minimum": 0, "maximum": 1,
    }  # fmt: skip


def test_request_model_leaves_the_size_limits_to_the_handlers_413(template: Template) -> None:
    schema = json.dumps(request_schema(template))
    assert "maxLength" not in schema and "maxItems" not in schema


def test_stage_throttles_every_method(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "prod",
            "MethodSettings": [
                {"HttpMethod": "*", "ResourcePath": "/*", "ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100}
            ],
        },
    )


def test_every_other_route_reaches_the_handler_for_its_404_or_405(template: Template) -> None:
    routes = methods(template)
    assert sorted(routes) == [
        ("/", "ANY"),
        ("/models", "ANY"),
        ("/models", "GET"),
        ("/models/transaction-classifier", "ANY"),
        ("/models/transaction-classifier/predict", "ANY"),
        ("/models/transaction-classifier/predict", "POST"),
        ("/predict", "ANY"),
        ("/predict", "POST"),
        ("/{proxy+}", "ANY"),
    ]
    # All but GET /models, which API Gateway answers itself (tests/infrastructure/test_models_listing.py).
    proxied = {route: method for route, method in routes.items() if route != ("/models", "GET")}
    assert all(method["Integration"]["Type"] == "AWS_PROXY" for method in proxied.values())
    assert all(model_function_id(template) in json.dumps(method["Integration"]["Uri"]) for method in proxied.values())


def test_errors_api_gateway_answers_itself_have_the_contract_shape(template: Template) -> None:
    responses = template.find_resources("AWS::ApiGateway::GatewayResponse").values()
    by_type = {response["Properties"]["ResponseType"]: response["Properties"] for response in responses}
    assert set(by_type) == {"BAD_REQUEST_BODY", "DEFAULT_4XX", "DEFAULT_5XX"}
    for response in by_type.values():
        body = response["ResponseTemplates"]["application/json"]
        # messageString is substituted with a quoted JSON string, so render it as one.
        rendered = body.replace("$context.error.messageString", '"Invalid request body"')
        error = json.loads(rendered)["error"]
        assert set(error) == {"code", "message", "request_id"}
        assert error["request_id"] == "$context.requestId"
    assert '"code": "invalid_request"' in by_type["BAD_REQUEST_BODY"]["ResponseTemplates"]["application/json"]


def test_api_is_open_by_default_with_no_key_or_usage_plan(template: Template) -> None:
    template.resource_count_is("AWS::ApiGateway::ApiKey", 0)
    template.resource_count_is("AWS::ApiGateway::UsagePlan", 0)
    template.resource_count_is("AWS::ApiGateway::Method", 9)
    template.all_resources_properties("AWS::ApiGateway::Method", {"AuthorizationType": "NONE"})


def test_api_gateway_does_not_touch_the_account_wide_logging_role(template: Template) -> None:
    template.resource_count_is("AWS::ApiGateway::Account", 0)


def test_warmup_rule_pings_the_function_every_5_minutes_without_retries(template: Template) -> None:
    function_id = model_function_id(template)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(5 minutes)",
            "State": "ENABLED",
            "Targets": [
                {
                    "Arn": {"Fn::GetAtt": [function_id, "Arn"]},
                    "Input": json.dumps({"warmup": True}, separators=(",", ":")),
                    "RetryPolicy": {"MaximumRetryAttempts": 0},
                }
            ],
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Permission", {"Principal": "events.amazonaws.com", "Action": "lambda:InvokeFunction"}
    )


def test_alarms_watch_function_errors_throttles_and_api_5xx_and_latency(template: Template) -> None:
    alarms = template.find_resources("AWS::CloudWatch::Alarm").values()
    metrics = {(alarm["Properties"]["Namespace"], alarm["Properties"]["MetricName"]) for alarm in alarms}
    assert metrics == {
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/ApiGateway", "Latency"),
        ("AWS/States", "ExecutionsFailed"),  # the bulk job's: tests/infrastructure/test_bulk_job.py
    }
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "Latency", "ExtendedStatistic": "p99", "Threshold": 28_000 * 0.8},
    )


def test_api_url_output_ends_in_predict(template: Template) -> None:
    outputs = template.find_outputs("ApiUrl")
    parts = outputs["ApiUrl"]["Value"]["Fn::Join"][1]
    assert parts[0] == "https://"
    assert parts[-1] == "/predict"


def test_auth_mode_output_says_the_api_is_open(template: Template) -> None:
    assert template.find_outputs("AuthMode")["AuthMode"]["Value"] == "NONE"


def test_no_provisioned_concurrency_by_default(template: Template) -> None:
    template.resource_count_is("AWS::Lambda::Alias", 0)
    template.resource_count_is("AWS::Lambda::Version", 0)


def test_staging_repository_keeps_the_last_5_images_and_is_emptied_on_delete(default_app: SynthesizedApp) -> None:
    staging = default_app.staging_template
    repository = only(staging, "AWS::ECR::Repository")
    assert repository["DeletionPolicy"] == "Delete"
    assert repository["Properties"]["RepositoryName"] == "pytorchinferenceapi/transaction-classifier"
    assert repository["Properties"]["EmptyOnDelete"] is True
    (rule,) = json.loads(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5}
    assert rule["action"] == {"type": "expire"}


def test_staging_repository_scans_each_pushed_image(default_app: SynthesizedApp) -> None:
    repository = only(default_app.staging_template, "AWS::ECR::Repository")
    assert repository["Properties"]["ImageScanningConfiguration"] == {"ScanOnPush": True}


def test_staging_bucket_blocks_every_kind_of_public_access(default_app: SynthesizedApp) -> None:
    bucket = only(default_app.staging_template, "AWS::S3::Bucket")
    assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def test_staging_bucket_is_emptied_and_deleted_on_destroy(default_app: SynthesizedApp) -> None:
    staging = default_app.staging_template
    staging.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Delete"})
    (bucket_id,) = staging.find_resources("AWS::S3::Bucket")
    staging.has_resource_properties("Custom::S3AutoDeleteObjects", {"BucketName": {"Ref": bucket_id}})


def test_app_stack_uses_the_staging_repository_not_the_bootstrap_one(default_app: SynthesizedApp) -> None:
    image_uri = model_function(default_app.app_template)["Properties"]["Code"]["ImageUri"]
    assert "cdk-hnb659fds-container-assets" not in json.dumps(image_uri)
