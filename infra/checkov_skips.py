"""The checkov checks the templates do not meet, each skipped on its resource with the reason.

checkov (tests/infrastructure/test_checkov.py scans every variant's templates) reads a skip from
the resource's `Metadata.checkov.skip` in the template itself: [{"id": ..., "comment": ...}].
Like the cdk-nag acknowledgements in infra/nag.py, each names one check on one resource.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from constructs import IConstruct

from deployment.settings import DeploymentSettings
from infra.nodes import default_child

if TYPE_CHECKING:  # infra/stack.py imports infra/staging.py, which imports this module
    from infra.stack import InferenceStack

LOG_GROUP_KEY = (
    "CloudWatch Logs encrypts every log group at rest already; a customer key would add $1 a month and a key "
    "policy to keep, for logs that never hold the request texts."
)
MODEL_FUNCTION = {
    "CKV_AWS_115": "Stage throttling bounds the function's concurrency; a reserved limit would take capacity "
    "from the account's other functions.",
    "CKV_AWS_116": "Invoked synchronously (API Gateway, the bulk job) or by the warm-up rule without retries: no "
    "event waits in a queue to be lost.",
    "CKV_AWS_117": "The function reaches no private resource; a VPC would only add NAT or endpoint costs.",
    "CKV_AWS_173": "The environment holds settings only, no secrets (tests/infrastructure/test_security.py), so "
    "Lambda's default encryption is enough.",
}
BUCKET_EMPTYING_FUNCTION = {
    "CKV_AWS_115": "The handler aws-cdk-lib uses to empty a bucket runs once, when the app is destroyed.",
    "CKV_AWS_116": "Invoked synchronously by CloudFormation, which reports a failure itself.",
    "CKV_AWS_117": "Calls only S3's public API; a VPC would only add NAT or endpoint costs.",
}
OPEN_METHOD = (
    "Open by configuration (iam_auth=false, api_key_required=false): the classifier stores and reveals nothing "
    "but predictions, and stage throttling bounds its cost."
)


def skip(construct: IConstruct, check_id: str, reason: str) -> None:
    """Adds the skip to the CloudFormation resource of `construct` (itself, or its default child)."""
    resource = construct if isinstance(construct, cdk.CfnResource) else default_child(construct, cdk.CfnResource)
    skips = (resource.get_metadata("checkov") or {}).get("skip", [])
    resource.add_metadata("checkov", {"skip": [*skips, {"id": check_id, "comment": reason}]})


def add_checkov_skips(stack: InferenceStack, config: DeploymentSettings) -> None:
    """The app stack's skips; infra/staging.py adds the staging stack's as it creates those resources."""
    for model in stack.models.values():
        for check_id, reason in MODEL_FUNCTION.items():
            skip(model.function, check_id, reason)
        skip(model.log_group, "CKV_AWS_158", LOG_GROUP_KEY)
    api = stack.predict_api
    stage = api.api.deployment_stage
    skip(stage, "CKV_AWS_120", "A response cache is billed by the hour even while idle, and texts rarely repeat.")
    if api.access_logs:
        skip(api.access_logs, "CKV_AWS_158", LOG_GROUP_KEY)
    else:
        skip(stage, "CKV_AWS_76", "Off by configuration (api_access_logs=false); the function logs each request.")
    if stack.bulk:
        skip(stack.bulk.log_group, "CKV_AWS_158", LOG_GROUP_KEY)
    if not config.xray_tracing:
        skip(stage, "CKV_AWS_73", "Off by configuration (xray_tracing=false, the default): X-Ray bills per trace.")
    if not (config.iam_auth or config.api_key_required):
        # checkov leaves out OPTIONS, the CORS preflight, which is open by nature.
        methods = (child for child in api.api.node.find_all() if isinstance(child, apigw.CfnMethod))
        for method in (method for method in methods if method.http_method != "OPTIONS"):
            skip(method, "CKV_AWS_59", OPEN_METHOD)


def skip_staging_checks(bucket: IConstruct, emptying_function: cdk.CfnResource, emptying_logs: IConstruct) -> None:
    skip(
        bucket,
        "CKV_AWS_18",
        "The bucket holds only CDK deployment artifacts written by CDK's roles and is deleted with the app; access "
        "logs would need a second bucket that outlives it.",
    )
    _skip_bucket_emptying_checks(emptying_function, emptying_logs)


def skip_bulk_bucket_checks(bucket: IConstruct, emptying_function: cdk.CfnResource, emptying_logs: IConstruct) -> None:
    skip(
        bucket,
        "CKV_AWS_18",
        "Inputs and results expire after bulk_results_expire_days and the bucket is deleted with the app; access "
        "logs would need a second bucket that outlives it, and the state machine's logs record every job.",
    )
    skip(
        bucket,
        "CKV_AWS_21",
        "Every object expires after bulk_results_expire_days on purpose (statements are personal data); versions "
        "would keep the lines a user deleted.",
    )
    _skip_bucket_emptying_checks(emptying_function, emptying_logs)


def _skip_bucket_emptying_checks(emptying_function: cdk.CfnResource, emptying_logs: IConstruct) -> None:
    """aws-cdk-lib's Lambda that empties a bucket when the app is destroyed, and its log group."""
    for check_id, reason in BUCKET_EMPTYING_FUNCTION.items():
        skip(emptying_function, check_id, reason)
    skip(emptying_logs, "CKV_AWS_158", LOG_GROUP_KEY)


def skip_repository_checks(repository: IConstruct) -> None:
    skip(
        repository,
        "CKV_AWS_136",
        "ECR encrypts images with AES-256 already; the image holds code and the model, no secret a customer key "
        "would protect better.",
    )
