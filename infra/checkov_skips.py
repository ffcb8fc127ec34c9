"""The checkov checks the templates do not meet, each skipped on its resource with the reason;
each construct applies the skips of its own resources with skip() and the reasons here.

checkov (tests/infrastructure/test_checkov.py scans every variant's templates) reads a skip from
the resource's `Metadata.checkov.skip` in the template itself: [{"id": ..., "comment": ...}].
Like the cdk-nag acknowledgements (infra/nag.py), each names one check on one resource.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct

from infra.nodes import default_child

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
