"""InferenceStack: the model function behind a REST API, kept warm and watched."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from aws_cdk.app_staging_synthesizer_alpha import AppStagingSynthesizer
from constructs import Construct

from infra.config import InferenceConfig
from infra.constructs.alarms import ServiceAlarms
from infra.constructs.model_function import ModelFunction
from infra.constructs.rest_api import PredictApi
from infra.constructs.warmup import WarmupSchedule


class InferenceStack(cdk.Stack):
    def __init__(self, scope: Construct, *, config: InferenceConfig) -> None:
        super().__init__(
            scope,
            config.stack_name,
            description="PyTorch transaction classifier on AWS Lambda behind API Gateway",
            synthesizer=_staging_synthesizer(config),
        )
        model = ModelFunction(self, "Model", config=config)
        # Kept for infra/nag.py, which acknowledges findings on the API's constructs.
        self.predict_api = PredictApi(
            self,
            "PredictApi",
            handler=model.invoke_target,
            throttle_rate_limit=config.throttle_rate_limit,
            throttle_burst_limit=config.throttle_burst_limit,
            api_key_required=config.api_key_required,
            iam_auth=config.iam_auth,
            cors_allow_origins=config.cors_allow_origins,
        )
        if config.warmup_enabled:
            WarmupSchedule(self, "Warmup", target=model.invoke_target, rate_minutes=config.warmup_rate_minutes)
        ServiceAlarms(self, "Alarms", function=model.function, api=self.predict_api.api, timeout=model.function.timeout)

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


def _staging_synthesizer(config: InferenceConfig) -> AppStagingSynthesizer:
    """Assets go to an app-owned staging stack instead of the shared bootstrap bucket/repository:
    one ECR repository per image that keeps the last N images, and `cdk destroy` of the staging
    stack empties and deletes its bucket and repositories (CDK never cleans the shared ones)."""
    return AppStagingSynthesizer.default_resources(
        app_id=config.app_id,
        staging_bucket_encryption=s3.BucketEncryption.S3_MANAGED,
        image_asset_version_count=config.image_keep_last,
        auto_delete_staging_assets=True,
    )
