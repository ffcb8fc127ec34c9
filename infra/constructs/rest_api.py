"""The public REST API: POST /models/<name>/predict in front of each model function, POST /predict
in front of the first, and GET /models, answered by API Gateway itself (docs/api.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from inference.schema import error_answer
from infra.checkov_skips import LOG_GROUP_KEY, OPEN_METHOD, skip
from infra.nag import acknowledge
from infra.nodes import default_child

STAGE = "prod"
# The contract's rules a request validator must leave to the handler: a text over MAX_TEXT_CHARS and
# a batch over MAX_BATCH answer 413, which a request validator cannot do (it answers 400).
SIZE_RULES = ("maxLength", "maxItems")
CORS_HEADERS = ["Content-Type", "X-Api-Key", "Authorization", "X-Amz-Date", "X-Amz-Security-Token"]
# One JSON line per request: who (source IP), when, what route, how it ended and how long it
# took. Never the body, the path's values or the query string: they may carry personal data.
ACCESS_LOG_FIELDS = {
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


@dataclass(frozen=True)
class ModelRoute:
    """One served package: its folder name (a path part of its route), the function that answers
    it, and the JSON Schema of its requests (application/json bodies; other media types, such as
    an image's, are the function's to check)."""

    name: str
    handler: lambda_.IFunction
    request_schema: Mapping[str, Any]


class PredictApi(Construct):
    """REST API with a validated `POST /predict` (the first model's) and `POST /models/<name>/predict`
    (each model's), and `GET /models`; every other route reaches a handler, which answers 404/405
    in the same JSON shape as the local server.

    `models_document` is GET /models' answer (deployment/catalog.py models_document); `binary_media_types`
    are the request bodies API Gateway passes to the functions base64-encoded (images)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        routes: Sequence[ModelRoute],
        models_document: Mapping[str, Any],
        binary_media_types: Sequence[str],
        throttle_rate_limit: int,
        throttle_burst_limit: int,
        api_key_required: bool,
        iam_auth: bool,
        cors_allow_origins: Sequence[str],
        access_log_retention: logs.RetentionDays | None,
        tracing_enabled: bool,
    ) -> None:
        """`access_log_retention`: the access logs' retention, or None for no access logs."""
        super().__init__(scope, construct_id)
        self.access_logs = (
            logs.LogGroup(self, "AccessLogs", retention=access_log_retention, removal_policy=RemovalPolicy.DESTROY)
            if access_log_retention
            else None
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            # API Gateway's metrics (alarms, dashboard) are per API *name*: make it this stack's own.
            rest_api_name=Stack.of(self).stack_name,
            description="PyTorch models: POST /predict, POST /models/<name>/predict, GET /models",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            binary_media_types=list(binary_media_types) or None,
            # The account-wide CloudWatch role is the region's, not this stack's (docs/deploy.md).
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE,
                throttling_rate_limit=throttle_rate_limit,
                throttling_burst_limit=throttle_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs) if self.access_logs else None,
                access_log_format=(
                    apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)) if self.access_logs else None
                ),
                tracing_enabled=tracing_enabled,
            ),
            default_method_options=apigw.MethodOptions(
                authorization_type=apigw.AuthorizationType.IAM if iam_auth else apigw.AuthorizationType.NONE,
                api_key_required=api_key_required,
            ),
            default_cors_preflight_options=(
                apigw.CorsOptions(
                    allow_origins=list(cors_allow_origins),
                    allow_methods=["GET", "POST", "OPTIONS"],
                    allow_headers=CORS_HEADERS,
                )
                if cors_allow_origins
                else None
            ),
        )
        # One invoke permission per function for the whole API instead of two per method.
        integrations = {
            route.name: apigw.LambdaIntegration(route.handler, scope_permission_to_method=False) for route in routes
        }
        # No parameters are declared, so validating them costs nothing (and cdk-nag's APIG2 asks for it).
        self._validator = self.api.add_request_validator(
            "PredictValidator", validate_request_body=True, validate_request_parameters=True
        )
        request_models = {route.name: self._request_model(route) for route in routes}
        first = routes[0]
        predict = self.api.root.add_resource("predict")
        post = self._add_predict(predict, integrations[first.name], request_models[first.name])
        # As CloudFormation spells it: NONE or AWS_IAM.
        authorization_type = default_child(post, apigw.CfnMethod).authorization_type
        assert authorization_type is not None, "_add_predict sets it"
        self.authorization_type: str = authorization_type
        self.api.root.add_method("ANY", integrations[first.name])
        self.api.root.add_proxy(default_integration=integrations[first.name], any_method=True)

        models = self.api.root.add_resource("models")
        models.add_method(
            "GET",
            _models_listing(models_document, cors_allow_origins),
            method_responses=[apigw.MethodResponse(status_code="200")],
        )
        models.add_method("ANY", integrations[first.name])
        self.model_urls: dict[str, str] = {}
        for route in routes:
            model = models.add_resource(route.name)
            model.add_method("ANY", integrations[route.name])
            model_predict = model.add_resource("predict")
            self._add_predict(model_predict, integrations[route.name], request_models[route.name])
            self.model_urls[route.name] = self.api.url_for_path(model_predict.path)

        self.api.add_gateway_response(
            "InvalidBody", type=apigw.ResponseType.BAD_REQUEST_BODY, templates=_error_body("invalid_request")
        )
        for response_type in (apigw.ResponseType.DEFAULT_4_XX, apigw.ResponseType.DEFAULT_5_XX):
            self.api.add_gateway_response(
                f"Default{response_type.response_type}",
                type=response_type,
                templates=_error_body("$context.error.responseType"),
            )

        self.api_key = (
            self._add_usage_plan(throttle_rate_limit=throttle_rate_limit, throttle_burst_limit=throttle_burst_limit)
            if api_key_required
            else None
        )
        self.predict_url = self.api.url_for_path(predict.path)
        self.models_url = self.api.url_for_path(models.path)
        self._accept_findings(iam_auth=iam_auth, api_key_required=api_key_required, tracing_enabled=tracing_enabled)

    def _accept_findings(self, *, iam_auth: bool, api_key_required: bool, tracing_enabled: bool) -> None:
        """The cdk-nag findings and checkov checks this API does not meet, each with its reason."""
        api = self.api
        acknowledge(
            api.deployment_stage,
            "AwsSolutions-APIG6",
            "Execution logs go to a log group API Gateway creates outside the stack, which never expires, and with "
            "data tracing they carry the request bodies (the texts). The stage writes access logs instead (one "
            "JSON line per request, no body) and the function one JSON line per request.",
        )
        if not self.access_logs:
            acknowledge(
                api.deployment_stage,
                "AwsSolutions-APIG1",
                "Access logs are off by configuration (api_access_logs=false), for regions without API Gateway's "
                "CloudWatch role; the function still logs one JSON line per request and the API's metrics are alarmed.",
            )
        acknowledge(
            api.deployment_stage,
            "AwsSolutions-APIG3",
            "A WAF web ACL costs a monthly fee plus a per-request fee; stage throttling (and, by config, an API key "
            "with a usage plan or IAM auth) bounds abuse of this API.",
        )
        acknowledge(
            api,
            "AwsSolutions-COG4",
            "The API serves machines, not signed-in users: there is no user pool. Its auth options are IAM (SigV4, "
            "iam_auth=true) and API keys with a usage plan (api_key_required=true).",
        )
        if not iam_auth:
            acknowledge(
                api,
                "AwsSolutions-APIG4",
                "Open by configuration (iam_auth=false): the classifier stores nothing and reveals nothing but "
                "its predictions, and stage throttling bounds its cost. Set iam_auth=true to require SigV4.",
            )
        stage = api.deployment_stage
        skip(stage, "CKV_AWS_120", "A response cache is billed by the hour even while idle, and texts rarely repeat.")
        if self.access_logs:
            skip(self.access_logs, "CKV_AWS_158", LOG_GROUP_KEY)
        else:
            skip(stage, "CKV_AWS_76", "Off by configuration (api_access_logs=false); the function logs each request.")
        if not tracing_enabled:
            skip(stage, "CKV_AWS_73", "Off by configuration (xray_tracing=false, the default): X-Ray bills per trace.")
        if not (iam_auth or api_key_required):
            # checkov leaves out OPTIONS, the CORS preflight, which is open by nature.
            methods = (child for child in api.node.find_all() if isinstance(child, apigw.CfnMethod))
            for method in (method for method in methods if method.http_method != "OPTIONS"):
                skip(method, "CKV_AWS_59", OPEN_METHOD)

    def _add_predict(
        self, resource: apigw.Resource, integration: apigw.Integration, model: apigw.Model
    ) -> apigw.Method:
        """POST with the body validated against the model (JSON bodies only: another media type, an
        image, has no model and goes to the function as it is), and ANY for the handler's 405."""
        post = resource.add_method(
            "POST",
            integration,
            request_validator=self._validator,
            request_models={"application/json": model},
        )
        resource.add_method("ANY", integration)
        return post

    def _request_model(self, route: ModelRoute) -> apigw.Model:
        """The gateway's request model: the package's published contract (docs/api.md), less its size
        limits. The handler checks everything again, so the API behaves the same behind any front door;
        tests/infrastructure/test_request_model.py shows both agree."""
        request_schema = route.request_schema
        model = self.api.add_model(
            f"Request-{route.name}",
            schema=apigw.JsonSchema(schema=apigw.JsonSchemaVersion.DRAFT4, type=apigw.JsonSchemaType.OBJECT),
        )
        # The contract is already a JSON Schema (in the keywords draft 4 shares): it goes in as it is.
        schema = {"$schema": "http://json-schema.org/draft-04/schema#", **_without(request_schema, SIZE_RULES)}
        cfn_model = model.node.default_child
        assert isinstance(cfn_model, apigw.CfnModel)
        cfn_model.add_property_override("Schema", schema)
        return model

    def _add_usage_plan(self, *, throttle_rate_limit: int, throttle_burst_limit: int) -> apigw.IApiKey:
        plan = self.api.add_usage_plan(
            "UsagePlan",
            throttle=apigw.ThrottleSettings(rate_limit=throttle_rate_limit, burst_limit=throttle_burst_limit),
        )
        plan.add_api_stage(stage=self.api.deployment_stage)
        # The key's value is generated by API Gateway and never appears in the template.
        api_key = self.api.add_api_key("ApiKey")
        plan.add_api_key(api_key)
        return api_key


# A mapping template is Velocity: `$` starts a reference and `#` a directive (`##` a comment). In a
# JSON string both can be written as \u escapes, which leave the document the same and give Velocity
# nothing to interpret.
VELOCITY_ESCAPES = {"$": "\\u0024", "#": "\\u0023"}


def listing_template(document: Mapping[str, Any], cors_allow_origins: Sequence[str]) -> str:
    """GET /models' mapping template: Velocity directives that set response headers (the request
    id; for an allowed Origin, CORS's), then the document as JSON on the last line, with no `$` or `#`."""
    body = json.dumps(document, ensure_ascii=True)
    for character, escape in VELOCITY_ESCAPES.items():
        body = body.replace(character, escape)
    directives = ["#set($context.responseOverride.header.X-Request-Id = $context.requestId)"]
    if "*" in cors_allow_origins:
        directives.append("#set($context.responseOverride.header.Access-Control-Allow-Origin = '*')")
    elif cors_allow_origins:
        # The Origin header read as CDK's own preflight reads it (either spelling); the origins are
        # https?://host[:port] (inference/settings.py), so they need no quoting in Velocity.
        allowed = " || ".join(f'$origin == "{origin}"' for origin in cors_allow_origins)
        directives += [
            '#set($origin = $input.params().header.get("Origin"))',
            '#if($origin == "")#set($origin = $input.params().header.get("origin"))#end',
            f"#if({allowed})#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)#end",
            "#set($context.responseOverride.header.Vary = 'Origin')",
        ]
    return "\n".join([*directives, body])


def _models_listing(document: Mapping[str, Any], cors_allow_origins: Sequence[str]) -> apigw.MockIntegration:
    """GET /models answered by API Gateway from the document written at synth: no function runs."""
    return apigw.MockIntegration(
        # A mock integration answers the status code its request template gives. Only JSON (or no
        # content type, as a GET usually has) gets one: anything else is a 415 (PassthroughBehavior.NEVER).
        request_templates={"application/json": json.dumps({"statusCode": 200})},
        passthrough_behavior=apigw.PassthroughBehavior.NEVER,
        integration_responses=[
            apigw.IntegrationResponse(
                status_code="200",
                response_templates={"application/json": listing_template(document, cors_allow_origins)},
            )
        ],
    )


def _without(schema: Any, keywords: Sequence[str]) -> Any:
    """`schema` with `keywords` removed at every level."""
    if isinstance(schema, Mapping):
        return {key: _without(value, keywords) for key, value in schema.items() if key not in keywords}
    if isinstance(schema, list):
        return [_without(item, keywords) for item in schema]
    return schema


def error_template(code: str) -> str:
    """The error envelope (inference.schema.ErrorAnswer) for errors API Gateway answers itself (bad
    body, missing API key, throttling, ...): its templates only substitute variables, and
    messageString is already a quoted JSON string."""
    placeholder = "MESSAGE"
    body = json.dumps(error_answer(code, placeholder, "$context.requestId"), separators=(", ", ": "))
    return body.replace(json.dumps(placeholder), "$context.error.messageString")


def _error_body(code: str) -> dict[str, str]:
    return {"application/json": error_template(code)}
