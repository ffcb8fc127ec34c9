"""InferenceStack: the model function behind a REST API, kept warm and watched."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from inference.schema import Limits, contract_schema
from inference.tasks import request_model
from infra.config import InferenceConfig
from infra.constructs.alarms import ServiceAlarms
from infra.constructs.dashboard import ServiceDashboard
from infra.constructs.model_function import ModelFunction
from infra.constructs.rest_api import PredictApi
from infra.constructs.warmup import WarmupSchedule
from infra.packages import SERVED_PACKAGE, served_package
from infra.staging import staging_synthesizer


class InferenceStack(cdk.Stack):
    def __init__(self, scope: Construct, *, config: InferenceConfig) -> None:
        super().__init__(
            scope,
            config.stack_name,
            description="PyTorch transaction classifier on AWS Lambda behind API Gateway",
            synthesizer=staging_synthesizer(config),
        )
        # Read as the runtime reads it: a package it cannot serve stops synth with one line (PackageError).
        package = served_package(config.backend, config.model_variant)
        limits = Limits(max_text_chars=config.max_text_chars, max_batch=config.max_batch)
        # Kept for infra/nag.py, which acknowledges findings on the function's role.
        self.model = model = ModelFunction(self, "Model", config=config, package=SERVED_PACKAGE)
        # Kept for infra/nag.py, which acknowledges findings on the API's constructs.
        self.predict_api = PredictApi(
            self,
            "PredictApi",
            handler=model.invoke_target,
            request_schema=contract_schema(request_model(package, limits)),
            throttle_rate_limit=config.throttle_rate_limit,
            throttle_burst_limit=config.throttle_burst_limit,
            api_key_required=config.api_key_required,
            iam_auth=config.iam_auth,
            cors_allow_origins=config.cors_allow_origins,
            access_log_retention=config.log_retention_days if config.api_access_logs else None,
            tracing_enabled=config.xray_tracing,
        )
        if config.warmup_enabled:
            WarmupSchedule(self, "Warmup", target=model.invoke_target, rate_minutes=config.warmup_rate_minutes)
        ServiceAlarms(
            self,
            "Alarms",
            function=model.function,
            api=self.predict_api.api,
            timeout=model.function.timeout,
            alarm_email=config.alarm_email,
            alarm_topic_arn=config.alarm_topic_arn,
        )

        cdk.CfnOutput(self, "ApiUrl", value=self.predict_api.predict_url, description="POST your requests here")
        # Tools that call the deployed API (tools/smoke.py) read how to authenticate from here.
        cdk.CfnOutput(
            self,
            "AuthMode",
            value=self.predict_api.authorization_type,
            description="Authorization type of the API's methods: NONE or AWS_IAM (SigV4)",
        )
        if self.predict_api.api_key:
            cdk.CfnOutput(
                self,
                "ApiKeyId",
                value=self.predict_api.api_key.key_id,
                description="aws apigateway get-api-key --include-value --api-key <id> shows the key",
            )
        # For the operator: where to look (docs: the README's "Operating" section).
        cdk.CfnOutput(self, "FunctionName", value=model.function.function_name, description="The model function")
        cdk.CfnOutput(
            self, "LogGroupName", value=model.log_group.log_group_name, description="aws logs tail <name> --follow"
        )
        if self.predict_api.access_logs:
            cdk.CfnOutput(
                self,
                "AccessLogGroupName",
                value=self.predict_api.access_logs.log_group_name,
                description="The API's access logs: one JSON line per request",
            )
        if config.dashboard_enabled:
            dashboard = ServiceDashboard(
                self, "Dashboard", function=model.function, log_group=model.log_group, api=self.predict_api.api
            )
            cdk.CfnOutput(self, "DashboardName", value=dashboard.dashboard.dashboard_name, description="The dashboard")
            cdk.CfnOutput(self, "DashboardUrl", value=dashboard.url, description="The dashboard in the AWS console")

