"""The public REST API: POST /predict in front of the model function."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

STAGE = "prod"
TEXT = apigw.JsonSchema(
    type=apigw.JsonSchemaType.STRING,
    min_length=1,
    # At least one non-whitespace character: a blank text is as empty as "".
    pattern=r"\S",
)
# DESIGN.md section 2. Only the rules the contract answers with 400 live here: text longer
# than MAX_TEXT_CHARS and batches over MAX_BATCH must answer 413, which a request validator
# cannot do, and top_k's upper bound (the model's label count) is known only to the image.
# The handler checks everything again, so the API behaves the same behind any front door.
# (A maxLength would also disagree with the handler, which counts characters after stripping.)
# Nesting is bounded here too: text is a string, texts a list of strings, nothing else is
# allowed, so deeper JSON is a 400 (tests/infrastructure/test_request_model.py: both agree).
PREDICT_REQUEST = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    title="PredictRequest",
    type=apigw.JsonSchemaType.OBJECT,
    properties={
        "text": TEXT,
        "texts": apigw.JsonSchema(type=apigw.JsonSchemaType.ARRAY, min_items=1, items=TEXT),
        "top_k": apigw.JsonSchema(type=apigw.JsonSchemaType.INTEGER, minimum=1),
    },
    additional_properties=False,
    one_of=[apigw.JsonSchema(required=["text"]), apigw.JsonSchema(required=["texts"])],
)
# The error shape of DESIGN.md section 2 for errors API Gateway answers itself (bad body,
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
            request_models={"application/json": self.api.add_model("PredictRequest", schema=PREDICT_REQUEST)},
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


def _error_body(code: str) -> dict[str, str]:
    return {"application/json": ERROR_TEMPLATE % code}
