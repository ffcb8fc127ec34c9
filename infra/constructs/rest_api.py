"""The public REST API: POST /predict in front of the model function."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

STAGE = "prod"
# The contract's rules a request validator must leave to the handler: a text over MAX_TEXT_CHARS and
# a batch over MAX_BATCH answer 413, which a request validator cannot do (it answers 400).
SIZE_RULES = ("maxLength", "maxItems")
# The error shape of docs/api.md for errors API Gateway answers itself (bad body,
# missing API key, throttling, ...). Gateway templates only substitute variables;
# messageString is already a quoted JSON string.
ERROR_TEMPLATE = '{"error": {"code": "%s", "message": $context.error.messageString, "request_id": "$context.requestId"}}'
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


class PredictApi(Construct):
    """REST API with a validated `POST /predict`; every other route reaches the handler,
    which answers 404/405 in the same JSON shape as the local server."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        request_schema: Mapping[str, Any],
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
            description="Transaction classifier: POST /predict",
            endpoint_types=[apigw.EndpointType.REGIONAL],
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
                    allow_methods=["POST", "OPTIONS"],
                    allow_headers=CORS_HEADERS,
                )
                if cors_allow_origins
                else None
            ),
        )
        # One invoke permission for the whole API instead of two per method.
        integration = apigw.LambdaIntegration(handler, scope_permission_to_method=False)
        predict = self.api.root.add_resource("predict")
        post = predict.add_method(
            "POST",
            integration,
            # No parameters are declared, so validating them costs nothing (and cdk-nag's APIG2 asks for it).
            request_validator=self.api.add_request_validator(
                "PredictValidator", validate_request_body=True, validate_request_parameters=True
            ),
            request_models={"application/json": self._request_model(request_schema)},
        )
        predict.add_method("ANY", integration)
        # As CloudFormation spells it: NONE or AWS_IAM.
        self.authorization_type: str = post.node.default_child.authorization_type
        self.api.root.add_method("ANY", integration)
        self.api.root.add_proxy(default_integration=integration, any_method=True)

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

    def _request_model(self, request_schema: Mapping[str, Any]) -> apigw.Model:
        """The gateway's request model: the package's published contract (docs/api.md), less its size
        limits. The handler checks everything again, so the API behaves the same behind any front door;
        tests/infrastructure/test_request_model.py shows both agree."""
        model = self.api.add_model(
            "PredictRequest",
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


def _without(schema: Any, keywords: Sequence[str]) -> Any:
    """`schema` with `keywords` removed at every level."""
    if isinstance(schema, Mapping):
        return {key: _without(value, keywords) for key, value in schema.items() if key not in keywords}
    if isinstance(schema, list):
        return [_without(item, keywords) for item in schema]
    return schema


def _error_body(code: str) -> dict[str, str]:
    return {"application/json": ERROR_TEMPLATE % code}
