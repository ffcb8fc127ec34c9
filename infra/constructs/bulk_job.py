"""The bulk job: a Step Functions Distributed Map that scores a JSONL or CSV object of S3 with the
model function, `max_batch` lines a batch, and writes one result per line back to S3
(docs/operating.md, "Bulk scoring"). Nothing of it is billed while no job runs. It scores each
line's text, so its package must take text (inference/bulk.py): synth refuses one that does not.

Execution input: {"input_key": "<INPUT_PREFIX>...", "output_prefix": "<OUTPUT_PREFIX>...",
"format": "jsonl" | "csv"}; `python -m tools.bulk` writes it.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
import jsii
from aws_cdk import CfnResource, CustomResourceProviderBase, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from pydantic import BaseModel

from inference.bulk import NoTextInput, TextInput
from inference.package import ModelPackage, PackageError
from infra.checkov_skips import LOG_GROUP_KEY, skip, skip_bulk_bucket_checks
from infra.nag import acknowledge, nag_arn
from infra.nodes import default_child, find_child
from infra.staging import AUTO_DELETE_PROVIDER, log_to_a_group_of_its_stack, narrow_emptied_bucket_policy

# Where inputs go and results come out, in the job's bucket; the state machine may read the one
# and write the other, nothing else.
INPUT_PREFIX = "bulk/input/"
OUTPUT_PREFIX = "bulk/results/"
# The ItemSelector: each line with its 0-based position, from which a line without an id gets one.
ITEM_SELECTOR = {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value"}
# Throttling and Lambda's own transient failures; an error of the handler itself is not retried.
RETRIED_ERRORS = [
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
]
RETRY_ATTEMPTS = 6
RETRY_INTERVAL = Duration.seconds(2)
RETRY_BACKOFF = 2.0
# A whole job is cut off after this long (at the default concurrency of 10, ~1,500 lines a second).
JOB_TIMEOUT = Duration.hours(24)
# Results are written as JSON Lines, one line per input line (each batch's list flattened).
WRITER_CONFIG = sfn.WriterConfig(output_type=sfn.OutputType.JSONL, transformation=sfn.Transformation.FLATTEN)


class BulkJob(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        package: ModelPackage,
        request_model: type[BaseModel],
        max_batch: int,
        max_concurrency: int,
        tolerated_failure_percentage: int,
        bucket_name: str,
        results_expire_days: int,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        try:
            TextInput.of(package, request_model)
        except NoTextInput as error:
            raise PackageError(
                f"{error}: put a package that takes text first in models (the bulk job scores with the first), "
                "or set bulk_enabled=false"
            ) from None
        self.function = function
        self.bucket = (
            s3.Bucket.from_bucket_name(self, "Bucket", bucket_name)
            if bucket_name
            else self._own_bucket(results_expire_days, log_retention)
        )
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)

        def scoring_map(state_id: str, reader: sfn.IItemReader) -> sfn.DistributedMap:
            scoring = sfn.DistributedMap(
                self,
                state_id,
                item_reader=reader,
                item_selector=ITEM_SELECTOR,
                item_batcher=sfn.ItemBatcher(
                    max_items_per_batch=max_batch,
                    batch_input={"execution.$": "$$.Execution.Name"},
                ),
                result_writer_v2=_PrefixResultWriter(
                    bucket=self.bucket,
                    prefix=sfn.JsonPath.string_at("$.output_prefix"),
                    writer_config=WRITER_CONFIG,
                ),
                max_concurrency=max_concurrency,
                tolerated_failure_percentage=tolerated_failure_percentage,
                # Express child workflows: billed per batch, not per state transition (~50x less).
                map_execution_type=sfn.StateMachineType.EXPRESS,
            )
            score = tasks.LambdaInvoke(
                self,
                f"{state_id} batch",
                lambda_function=function,
                payload_response_only=True,
                retry_on_service_exceptions=False,
            )
            score.add_retry(
                errors=RETRIED_ERRORS,
                interval=RETRY_INTERVAL,
                max_attempts=RETRY_ATTEMPTS,
                backoff_rate=RETRY_BACKOFF,
                jitter_strategy=sfn.JitterType.FULL,
            )
            return scoring.item_processor(score)

        key = sfn.JsonPath.string_at("$.input_key")
        definition = (
            sfn.Choice(self, "Input format")
            .when(
                sfn.Condition.string_equals("$.format", "csv"),
                scoring_map("Score CSV", _PrefixCsvReader(bucket=self.bucket, key=key)),
            )
            .otherwise(scoring_map("Score JSONL", _PrefixJsonLReader(bucket=self.bucket, key=key)))
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=JOB_TIMEOUT,
            # Every state's events, without their input or output: the lines are personal data.
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        self._accept_findings()

    def _accept_findings(self) -> None:
        """The cdk-nag findings and checkov checks this job does not meet, each with its reason: each
        wildcard its role holds, by the finding cdk-nag reports for it."""
        stack = cdk.Stack.of(self)
        state_machine = self.state_machine
        role_policy = state_machine.role.node.find_child("DefaultPolicy")
        owns_bucket = isinstance(self.bucket, s3.Bucket)
        bucket_arn = nag_arn(self.bucket) if owns_bucket else f"arn:<AWS::Partition>:s3:::{self.bucket.bucket_name}"
        acknowledge(
            role_policy,
            f"AwsSolutions-IAM5[Resource::{bucket_arn}/{INPUT_PREFIX}*]",
            "The job reads the object named by each execution's input, under the input prefix only.",
        )
        acknowledge(
            role_policy,
            f"AwsSolutions-IAM5[Resource::{bucket_arn}/{OUTPUT_PREFIX}*]",
            "The job writes result files under keys Step Functions generates, under the output prefix only.",
        )
        acknowledge(
            role_policy,
            f"AwsSolutions-IAM5[Resource::{nag_arn(self.function)}:*]",
            "CDK's LambdaInvoke grants the model function's versions and aliases beside the function itself.",
        )
        acknowledge(
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
            acknowledge(
                state_machine.node.find_child("DistributedMapPolicy"),
                f"AwsSolutions-IAM5[Resource::{resource}]",
                "A Distributed Map starts, watches and redrives child executions of its own state machine, named "
                "at run time.",
            )
        acknowledge(
            state_machine,
            "AwsSolutions-SF2",
            "X-Ray bills every trace; the job's state events are logged (without data) and its failures alarmed.",
        )
        if owns_bucket:
            acknowledge(
                self.bucket,
                "AwsSolutions-S1",
                "Access logs would need a second bucket that outlives the app; the only writer besides the operator is "
                "the state machine, whose every state is logged.",
            )
        skip(self.log_group, "CKV_AWS_158", LOG_GROUP_KEY)

    def _own_bucket(self, results_expire_days: int, log_retention: logs.RetentionDays) -> s3.Bucket:
        expires = Duration.days(results_expire_days)
        bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
            lifecycle_rules=[
                # Inputs are statements too: they expire like the results they produced.
                s3.LifecycleRule(prefix=INPUT_PREFIX, expiration=expires),
                s3.LifecycleRule(prefix=OUTPUT_PREFIX, expiration=expires),
                s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(1)),
            ],
        )
        # The emptying Lambda (one per stack), like the staging stack's: its own log group, and
        # only the s3 actions it calls (infra/staging.py).
        provider = find_child(Stack.of(self), AUTO_DELETE_PROVIDER, CustomResourceProviderBase)
        emptying_logs = log_to_a_group_of_its_stack(provider, log_retention)
        narrow_emptied_bucket_policy(bucket, provider)
        skip_bulk_bucket_checks(bucket, find_child(provider, "Handler", CfnResource), emptying_logs)
        return bucket


# CDK grants the readers and the writer every object of the bucket, as the key and prefix come
# from the execution input; these grant only the job's prefixes.
def _read_inputs(bucket: s3.IBucket) -> list[iam.PolicyStatement]:
    return [iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects(f"{INPUT_PREFIX}*")])]


class _PrefixJsonLReader(sfn.S3JsonLItemReader):
    @jsii.member(jsii_name="providePolicyStatements")
    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return _read_inputs(self.bucket)


class _PrefixCsvReader(sfn.S3CsvItemReader):
    @jsii.member(jsii_name="providePolicyStatements")
    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return _read_inputs(self.bucket)


class _PrefixResultWriter(sfn.ResultWriterV2):
    def _bucket(self) -> s3.IBucket:
        bucket = self.bucket
        assert bucket is not None, "the writer is given the bucket"
        return bucket

    @jsii.member(jsii_name="providePolicyStatements")
    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                # Multipart uploads for large result files; GetObject reads back only results.
                actions=["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
                resources=[self._bucket().arn_for_objects(f"{OUTPUT_PREFIX}*")],
            )
        ]
