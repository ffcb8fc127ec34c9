"""cdk-nag AwsSolutions checks and the reasoned acknowledgements of what we accept.

Every finding not acknowledged here fails `cdk synth` (cdk-nag 3 runs as a CDK policy
validation plugin). An acknowledgement names one rule (or one finding of a granular rule)
on the narrowest construct it applies to.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from aws_cdk.app_staging_synthesizer_alpha import DefaultStagingStack
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from deployment.settings import DeploymentSettings
from infra.constructs.bulk_job import INPUT_PREFIX, OUTPUT_PREFIX, BulkJob
from infra.nodes import default_child
from infra.stack import InferenceStack


def add_nag_checks(app: cdk.App, stack: InferenceStack, config: DeploymentSettings) -> None:
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    _acknowledge_api(stack, config)
    if stack.bulk_job:
        _acknowledge_bulk_job(stack.bulk_job)
    for staging_stack in (child for child in app.node.children if isinstance(child, DefaultStagingStack)):
        _acknowledge_staging(staging_stack)


def _acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def _acknowledge_api(stack: InferenceStack, config: DeploymentSettings) -> None:
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
        for model in stack.models.values():
            role = model.function.role
            assert role is not None, "CDK creates the function's role"
            _acknowledge(
                role,
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


def _acknowledge_bulk_job(job: BulkJob) -> None:
    """Each wildcard the job's role holds, by the finding cdk-nag reports for it."""
    stack = cdk.Stack.of(job)
    state_machine = job.state_machine
    role_policy = state_machine.role.node.find_child("DefaultPolicy")
    owns_bucket = isinstance(job.bucket, s3.Bucket)
    bucket_arn = _nag_arn(job.bucket) if owns_bucket else f"arn:<AWS::Partition>:s3:::{job.bucket.bucket_name}"
    _acknowledge(
        role_policy,
        f"AwsSolutions-IAM5[Resource::{bucket_arn}/{INPUT_PREFIX}*]",
        "The job reads the object named by each execution's input, under the input prefix only.",
    )
    _acknowledge(
        role_policy,
        f"AwsSolutions-IAM5[Resource::{bucket_arn}/{OUTPUT_PREFIX}*]",
        "The job writes result files under keys Step Functions generates, under the output prefix only.",
    )
    _acknowledge(
        role_policy,
        f"AwsSolutions-IAM5[Resource::{_nag_arn(job.function)}:*]",
        "CDK's LambdaInvoke grants the model function's versions and aliases beside the function itself.",
    )
    _acknowledge(
        role_policy,
        "AwsSolutions-IAM5[Resource::*]",
        "CloudWatch Logs' log delivery actions (logs:CreateLogDelivery and the others Step Functions logging "
        "needs) have no resource-level permissions.",
    )
    # How cdk-nag spells the execution ARNs of this state machine: its name is the 7th part of its ARN.
    name = json.dumps(
        {
            "Fn::Select": [
                6,
                {"Fn::Split": [":", {"Ref": stack.get_logical_id(default_child(state_machine, cdk.CfnElement))}]},
            ]
        },
        separators=(",", ":"),
    )
    executions = f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{name}"
    for resource in (f"{executions}:*", f"{executions}/*:*"):
        _acknowledge(
            state_machine.node.find_child("DistributedMapPolicy"),
            f"AwsSolutions-IAM5[Resource::{resource}]",
            "A Distributed Map starts, watches and redrives child executions of its own state machine, named "
            "at run time.",
        )
    _acknowledge(
        state_machine,
        "AwsSolutions-SF2",
        "X-Ray bills every trace; the job's state events are logged (without data) and its failures alarmed.",
    )
    if owns_bucket:
        _acknowledge(
            job.bucket,
            "AwsSolutions-S1",
            "Access logs would need a second bucket that outlives the app; the only writer besides the operator is "
            "the state machine, whose every state is logged.",
        )


def _nag_arn(construct: IConstruct) -> str:
    """How cdk-nag shows the ARN of a construct of this stack: <LogicalId.Arn>."""
    return f"<{cdk.Stack.of(construct).get_logical_id(default_child(construct, cdk.CfnElement))}.Arn>"


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
