"""cdk-nag AwsSolutions checks and the reasoned acknowledgements of what we accept.

Every finding not acknowledged here fails `cdk synth` (cdk-nag 3 runs as a CDK policy
validation plugin). An acknowledgement names one rule (or one finding of a granular rule)
on the narrowest construct it applies to.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk.app_staging_synthesizer_alpha import DefaultStagingStack
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from infra.config import InferenceConfig
from infra.stack import InferenceStack


def add_nag_checks(app: cdk.App, stack: InferenceStack, config: InferenceConfig) -> None:
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    _acknowledge_api(stack, config)
    for staging_stack in (child for child in app.node.children if isinstance(child, DefaultStagingStack)):
        _acknowledge_staging(staging_stack)


def _acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def _acknowledge_api(stack: InferenceStack, config: InferenceConfig) -> None:
    api = stack.predict_api.api
    _acknowledge(
        api.deployment_stage,
        "AwsSolutions-APIG6",
        "Execution logs go to a log group API Gateway creates outside the stack, which never expires, and with "
        "data tracing they carry the request bodies (the texts). The stage writes access logs instead (one "
        "JSON line per request, no body) and the function one JSON line per request.",
    )
    if not config.api_access_logs:
        _acknowledge(
            api.deployment_stage,
            "AwsSolutions-APIG1",
            "Access logs are off by configuration (api_access_logs=false), for regions without API Gateway's "
            "CloudWatch role; the function still logs one JSON line per request and the API's metrics are alarmed.",
        )
    _acknowledge(
        api.deployment_stage,
        "AwsSolutions-APIG3",
        "A WAF web ACL costs a monthly fee plus a per-request fee; stage throttling (and, by config, an API key "
        "with a usage plan or IAM auth) bounds abuse of this API.",
    )
    _acknowledge(
        api,
        "AwsSolutions-COG4",
        "The API serves machines, not signed-in users: there is no user pool. Its auth options are IAM (SigV4, "
        "iam_auth=true) and API keys with a usage plan (api_key_required=true).",
    )
    if config.xray_tracing:
        _acknowledge(
            stack.model.function.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray's PutTraceSegments and PutTelemetryRecords, which tracing needs, have no resource-level "
            "permissions.",
        )
    if not config.iam_auth:
        _acknowledge(
            api,
            "AwsSolutions-APIG4",
            "Open by configuration (iam_auth=false): the classifier stores nothing and reveals nothing but "
            "its predictions, and stage throttling bounds its cost. Set iam_auth=true to require SigV4.",
        )


def _acknowledge_staging(staging_stack: DefaultStagingStack) -> None:
    """The staging stack is AppStagingSynthesizer's code and creates its bucket and roles only
    while synthesizing, so the acknowledgements sit on the stack; each names one finding."""
    _acknowledge(
        staging_stack,
        "AwsSolutions-IAM5[Resource::*]",
        "The image publishing role's ecr:GetAuthorizationToken has no resource-level permissions; its other "
        "actions are scoped to this app's repository.",
    )
    _acknowledge(
        staging_stack,
        "AwsSolutions-IAM5[Resource::<CdkStagingBucket1636058C.Arn>/*]",
        "Asset publishing writes objects under generated keys, in this app's own staging bucket only.",
    )
    _acknowledge(
        staging_stack,
        "AwsSolutions-S1",
        "The bucket holds only CDK deployment artifacts written by CDK's roles, and is emptied and deleted with "
        "the app; access logs would need a second bucket that outlives it.",
    )
