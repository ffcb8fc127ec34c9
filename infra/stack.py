"""InferenceStack: a function per model package behind one REST API, kept warm and watched."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from deployment.catalog import binary_media_types, models_document, served_packages
from deployment.settings import DeploymentSettings
from inference.schema import Limits, contract_schema
from inference.tasks import request_model
from infra.config import log_retention
from infra.constructs.alarms import ServiceAlarms
from infra.constructs.bulk_job import INPUT_PREFIX, OUTPUT_PREFIX, BulkJob
from infra.constructs.dashboard import ServiceDashboard
from infra.constructs.model_function import ModelFunction
from infra.constructs.rest_api import ModelRoute, PredictApi
from infra.constructs.warmup import WarmupSchedule
from infra.nodes import timeout_of
from infra.staging import staging_synthesizer


class InferenceStack(cdk.Stack):
    def __init__(self, scope: Construct, *, config: DeploymentSettings) -> None:
        super().__init__(
            scope,
            config.stack_name,
            description="PyTorch models on AWS Lambda behind API Gateway",
            synthesizer=staging_synthesizer(config),
        )
        # Read as the runtime reads them: a package it cannot serve stops synth with one line (PackageError).
        packages = served_packages(config.models, config.runtime.model_backend, config.runtime.model_variant)
        limits = Limits(max_text_chars=config.runtime.max_text_chars, max_batch=config.runtime.max_batch)
        # One function per package, by folder name (construct ids too, so reordering `models` replaces
        # nothing); kept for infra/nag.py and infra/checkov_skips.py, which cover each one.
        self.models = {
            name: ModelFunction(self, f"Model-{name}", config=config, package=name) for name in config.models
        }
        model = self.models[config.models[0]]
        # Kept for infra/nag.py, which acknowledges findings on the API's constructs.
        self.predict_api = PredictApi(
            self,
            "PredictApi",
            routes=[
                ModelRoute(
                    name=package.directory.name,
                    handler=self.models[package.directory.name].invoke_target,
                    request_schema=contract_schema(request_model(package, limits)),
                )
                for package in packages
            ],
            models_document=models_document(packages),
            binary_media_types=binary_media_types(packages),
            throttle_rate_limit=config.throttle_rate_limit,
            throttle_burst_limit=config.throttle_burst_limit,
            api_key_required=config.api_key_required,
            iam_auth=config.iam_auth,
            cors_allow_origins=config.runtime.cors_allow_origins,
            access_log_retention=log_retention(config) if config.api_access_logs else None,
            tracing_enabled=config.xray_tracing,
        )
        if config.warmup_enabled:
            for name, function in self.models.items():
                WarmupSchedule(
                    self, f"Warmup-{name}", target=function.invoke_target, rate_minutes=config.warmup_rate_minutes
                )
        # Kept for infra/checkov_skips.py, which skips checks on the job's log group. It scores with
        # the first model, as POST /predict does.
        self.bulk = bulk = None
        if config.bulk_enabled:
            self.bulk = bulk = BulkJob(
                self,
                "Bulk",
                function=model.invoke_target,
                package=packages[0],
                request_model=request_model(packages[0], limits),
                max_batch=config.runtime.max_batch,
                max_concurrency=config.bulk_max_concurrency,
                tolerated_failure_percentage=config.bulk_tolerated_failure_percentage,
                bucket_name=config.bulk_bucket_name,
                results_expire_days=config.bulk_results_expire_days,
                log_retention=log_retention(config),
            )
        # Kept for infra/nag.py, which acknowledges findings on the job's constructs.
        self.bulk_job = bulk
        ServiceAlarms(
            self,
            "Alarms",
            functions={name: function.function for name, function in self.models.items()},
            api=self.predict_api.api,
            bulk_state_machine=bulk.state_machine if bulk else None,
            timeout=timeout_of(model.function),
            alarm_email=config.alarm_email,
            alarm_topic_arn=config.alarm_topic_arn,
        )

        cdk.CfnOutput(
            self,
            "ApiUrl",
            value=self.predict_api.predict_url,
            description=f"POST your requests here ({config.models[0]})",
        )
        cdk.CfnOutput(
            self,
            "ModelsUrl",
            value=self.predict_api.models_url,
            description="GET it for every model: its name, task, version, route (POST /models/<name>/predict) and "
            "example",
        )
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
        cdk.CfnOutput(
            self, "FunctionName", value=model.function.function_name, description="The function of POST /predict"
        )
        cdk.CfnOutput(
            self, "LogGroupName", value=model.log_group.log_group_name, description="aws logs tail <name> --follow"
        )
        cdk.CfnOutput(
            self,
            "ModelFunctionNames",
            value=self.to_json_string(
                {name: function.function.function_name for name, function in self.models.items()}
            ),
            description="Each model's function, by package name (JSON)",
        )
        cdk.CfnOutput(
            self,
            "ModelLogGroupNames",
            value=self.to_json_string(
                {name: function.log_group.log_group_name for name, function in self.models.items()}
            ),
            description="Each model's log group, by package name (JSON)",
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
            cdk.CfnOutput(
                self, "BulkInputUri", value=f"s3://{bucket}/{INPUT_PREFIX}", description="Bulk job inputs go here"
            )
            cdk.CfnOutput(
                self, "BulkOutputUri", value=f"s3://{bucket}/{OUTPUT_PREFIX}", description="Bulk job results come here"
            )
        if config.dashboard_enabled:
            dashboard = ServiceDashboard(
                self,
                "Dashboard",
                functions={name: (function.function, function.log_group) for name, function in self.models.items()},
                api=self.predict_api.api,
                bulk_state_machine=bulk.state_machine if bulk else None,
            )
            cdk.CfnOutput(self, "DashboardName", value=dashboard.dashboard.dashboard_name, description="The dashboard")
            cdk.CfnOutput(self, "DashboardUrl", value=dashboard.url, description="The dashboard in the AWS console")
