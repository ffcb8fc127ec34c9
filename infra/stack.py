"""InferenceStack: the model function behind a REST API, kept warm and watched."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from inference.schema import Limits, contract_schema
from inference.tasks import request_model
from infra.config import InferenceConfig
from infra.constructs.alarms import ServiceAlarms
from infra.constructs.bulk_job import INPUT_PREFIX, OUTPUT_PREFIX, BulkJob
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
        # Kept for infra/checkov_skips.py, which skips checks on the job's log group.
        self.bulk = bulk = None
        if config.bulk_enabled:
            self.bulk = bulk = BulkJob(
                self,
                "Bulk",
                function=model.invoke_target,
                max_batch=config.max_batch,
                max_concurrency=config.bulk_max_concurrency,
                tolerated_failure_percentage=config.bulk_tolerated_failure_percentage,
                bucket_name=config.bulk_bucket_name,
                results_expire_days=config.bulk_results_expire_days,
                log_retention=config.log_retention_days,
            )
        # Kept for infra/nag.py, which acknowledges findings on the job's constructs.
        self.bulk_job = bulk
        ServiceAlarms(
            self,
            "Alarms",
            function=model.function,
            api=self.predict_api.api,
            bulk_state_machine=bulk.state_machine if bulk else None,
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
        if bulk:
            # `python -m tools.bulk` (make bulk) reads where to start jobs, and where files go, from here.
            cdk.CfnOutput(
                self, "BulkStateMachineArn", value=bulk.state_machine.state_machine_arn, description="The bulk job"
            )
            bucket = bulk.bucket.bucket_name
            cdk.CfnOutput(self, "BulkInputUri", value=f"s3://{bucket}/{INPUT_PREFIX}", description="Bulk job inputs go here")
            cdk.CfnOutput(
                self, "BulkOutputUri", value=f"s3://{bucket}/{OUTPUT_PREFIX}", description="Bulk job results come here"
            )
        if config.dashboard_enabled:
            dashboard = ServiceDashboard(
                self,
                "Dashboard",
                function=model.function,
                log_group=model.log_group,
                api=self.predict_api.api,
                bulk_state_machine=bulk.state_machine if bulk else None,
            )
            cdk.CfnOutput(self, "DashboardName", value=dashboard.dashboard.dashboard_name, description="The dashboard")
            cdk.CfnOutput(self, "DashboardUrl", value=dashboard.url, description="The dashboard in the AWS console")

