"""The bulk job (infra/constructs/bulk_job.py): its state machine definition, its bucket, what its
role may do, its logs, alarm and dashboard row, each of its settings, and the packages it can score."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from app import build_app
from inference.package import PackageError
from infra.constructs.bulk_job import INPUT_PREFIX, OUTPUT_PREFIX, RETRIED_ERRORS
from tests.infrastructure.synth import CDK_CONTEXT, TEST_CONTEXT, UNSTAGED, SynthesizedApp
from tests.infrastructure.test_security import as_list
from tools.bulk import batches_of

STATE_MACHINE = "AWS::StepFunctions::StateMachine"


def resolved(node: Any) -> Any:
    """A template value with references spelled `<LogicalId>` / `<LogicalId.Attr>`, joins joined."""
    if isinstance(node, dict):
        if set(node) == {"Ref"}:
            return f"<{node['Ref']}>"
        if set(node) == {"Fn::GetAtt"}:
            return f"<{node['Fn::GetAtt'][0]}.{node['Fn::GetAtt'][1]}>"
        if set(node) == {"Fn::Join"}:
            separator, parts = node["Fn::Join"]
            return separator.join(str(resolved(part)) for part in parts)
        return {key: resolved(value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolved(item) for item in node]
    return node


def state_machine(template: Template) -> tuple[str, dict]:
    ((logical_id, resource),) = template.find_resources(STATE_MACHINE).items()
    return logical_id, resource["Properties"]


def definition(template: Template) -> dict:
    return json.loads(resolved(state_machine(template)[1]["DefinitionString"]))


def scoring_maps(template: Template) -> dict[str, dict]:
    states = definition(template)["States"]
    return {name: state for name, state in states.items() if state["Type"] == "Map"}


def logical_id(template: Template, resource_type: str) -> str:
    (found,) = template.find_resources(resource_type)
    return found


def role_statements(template: Template) -> list[dict]:
    role = state_machine(template)[1]["RoleArn"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in resolved(policy["Properties"]["PolicyDocument"])["Statement"]
    ]


def test_a_choice_sends_csv_to_the_csv_reader_and_anything_else_to_jsonl(template: Template) -> None:
    machine = definition(template)
    choice = machine["States"][machine["StartAt"]]
    assert choice["Choices"] == [{"Variable": "$.format", "StringEquals": "csv", "Next": "Score CSV"}]
    assert choice["Default"] == "Score JSONL"
    readers = {name: state["ItemReader"] for name, state in scoring_maps(template).items()}
    bucket = f"<{logical_id(template, 'AWS::S3::Bucket')}>"
    for name, reader in readers.items():
        assert reader["Resource"] == "arn:<AWS::Partition>:states:::s3:getObject"
        assert reader["Parameters"] == {"Bucket": bucket, "Key.$": "$.input_key"}, name
    assert readers["Score JSONL"]["ReaderConfig"] == {"InputType": "JSONL"}
    assert readers["Score CSV"]["ReaderConfig"] == {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}


def test_each_map_batches_lines_with_their_position_for_the_model_function(template: Template) -> None:
    function = f"<{_model_function(template)}.Arn>"
    for name, state in scoring_maps(template).items():
        assert state["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
        assert state["ItemSelector"] == {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value"}
        assert state["ItemBatcher"] == {
            "MaxItemsPerBatch": CDK_CONTEXT["max_batch"],
            "BatchInput": {"execution.$": "$$.Execution.Name"},
        }
        (task,) = state["ItemProcessor"]["States"].values()
        assert (task["Type"], task["Resource"]) == ("Task", function), name


def test_make_bulk_reads_the_batch_size_and_the_function_it_prices_from_the_deployed_definition(
    template: Template,
) -> None:
    assert batches_of(definition(template)) == (CDK_CONTEXT["max_batch"], f"<{_model_function(template)}.Arn>")


def test_synth_refuses_the_job_with_a_first_package_that_takes_no_text_in_one_line(tmp_path: Path) -> None:
    context = {**CDK_CONTEXT, **TEST_CONTEXT, **UNSTAGED, "models": "digits,transaction-classifier"}
    with pytest.raises(PackageError) as refused:
        build_app(context, outdir=str(tmp_path / "cdk.out"))
    assert str(refused.value) == (
        "digits is an image-classification package: it takes images, not text, so the bulk job cannot score lines "
        "with it: put a package that takes text first in models (the bulk job scores with the first), or set "
        "bulk_enabled=false"
    )


def test_a_custom_package_with_one_text_field_may_come_first_and_the_job_scores_with_it(tmp_path: Path) -> None:
    context = {**CDK_CONTEXT, **TEST_CONTEXT, **UNSTAGED, "models": "merchant-normalizer"}
    assembly = build_app(context, outdir=str(tmp_path / "cdk.out")).synth()
    template = Template.from_json(assembly.get_stack_by_name(CDK_CONTEXT["stack_name"]).template)
    assert batches_of(definition(template))[1] == f"<{_model_function(template)}.Arn>"


def test_each_map_retries_throttling_and_lambda_errors_with_backoff_and_tolerates_few_failures(
    template: Template,
) -> None:
    for state in scoring_maps(template).values():
        (task,) = state["ItemProcessor"]["States"].values()
        assert task["Retry"] == [
            {
                "ErrorEquals": RETRIED_ERRORS,
                "IntervalSeconds": 2,
                "MaxAttempts": 6,
                "BackoffRate": 2,
                "JitterStrategy": "FULL",
            }
        ]
        assert "Lambda.TooManyRequestsException" in RETRIED_ERRORS
        assert state["MaxConcurrency"] == CDK_CONTEXT["bulk_max_concurrency"] == 10
        assert state["ToleratedFailurePercentage"] == CDK_CONTEXT["bulk_tolerated_failure_percentage"]


def test_each_map_writes_one_json_line_per_result_under_the_executions_output_prefix(template: Template) -> None:
    bucket = f"<{logical_id(template, 'AWS::S3::Bucket')}>"
    for state in scoring_maps(template).values():
        assert state["ResultWriter"] == {
            "Resource": "arn:<AWS::Partition>:states:::s3:putObject",
            "Parameters": {"Bucket": bucket, "Prefix.$": "$.output_prefix"},
            "WriterConfig": {"OutputType": "JSONL", "Transformation": "FLATTEN"},
        }
        # The map's output (where the results are) is the execution's output, for tools/bulk.py.
        assert "ResultPath" not in state


def test_the_role_reads_the_input_prefix_writes_the_output_prefix_and_nothing_else_of_s3(template: Template) -> None:
    bucket_arn = f"<{logical_id(template, 'AWS::S3::Bucket')}.Arn>"
    s3 = [s for s in role_statements(template) if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    assert sorted((sorted(as_list(s["Action"])), s["Resource"]) for s in s3) == [
        (
            ["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"],
            f"{bucket_arn}/{OUTPUT_PREFIX}*",
        ),
        (["s3:GetObject"], f"{bucket_arn}/{INPUT_PREFIX}*"),
    ]


def test_the_role_invokes_only_the_model_function(template: Template) -> None:
    (invoke,) = [s for s in role_statements(template) if s["Action"] == "lambda:InvokeFunction"]
    function = f"<{_model_function(template)}.Arn>"
    assert invoke["Resource"] == [function, f"{function}:*"]


def test_the_bucket_is_private_tls_only_encrypted_expiring_and_emptied_on_delete(template: Template) -> None:
    ((bucket_id, bucket),) = template.find_resources("AWS::S3::Bucket").items()
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    expiring = {
        rule.get("Prefix"): rule.get("ExpirationInDays") for rule in properties["LifecycleConfiguration"]["Rules"]
    }
    assert expiring[INPUT_PREFIX] == expiring[OUTPUT_PREFIX] == CDK_CONTEXT["bulk_results_expire_days"]
    assert bucket["DeletionPolicy"] == "Delete"
    (policy,) = template.find_resources("AWS::S3::BucketPolicy").values()
    (deny,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    template.has_resource_properties("Custom::S3AutoDeleteObjects", {"BucketName": {"Ref": bucket_id}})


def test_the_job_logs_every_state_without_the_lines_to_a_log_group_that_expires(template: Template) -> None:
    logging = state_machine(template)[1]["LoggingConfiguration"]
    assert (logging["Level"], logging["IncludeExecutionData"]) == ("ALL", False)
    (destination,) = logging["Destinations"]
    log_group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert template.to_json()["Resources"][log_group]["Properties"]["RetentionInDays"] == 30


def test_a_failed_execution_raises_an_alarm(template: Template) -> None:
    state_machine_id = state_machine(template)[0]
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/States",
            "MetricName": "ExecutionsFailed",
            "Dimensions": [{"Name": "StateMachineArn", "Value": {"Ref": state_machine_id}}],
            "Threshold": 1,
        },
    )


def test_the_dashboard_shows_the_jobs_and_their_lines(template: Template) -> None:
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(resolved(dashboard["Properties"]["DashboardBody"]))
    for shown in (
        "Bulk jobs",
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "BulkItems",
        "BulkItemErrors",
    ):
        assert shown in body


def test_the_outputs_say_where_inputs_go_and_results_come(template: Template) -> None:
    outputs = resolved(template.to_json()["Outputs"])
    bucket = f"<{logical_id(template, 'AWS::S3::Bucket')}>"
    assert outputs["BulkInputUri"]["Value"] == f"s3://{bucket}/{INPUT_PREFIX}"
    assert outputs["BulkOutputUri"]["Value"] == f"s3://{bucket}/{OUTPUT_PREFIX}"
    assert outputs["BulkStateMachineArn"]["Value"] == f"<{state_machine(template)[0]}>"


def test_bulk_off_leaves_no_state_machine_bucket_or_outputs(synthesize) -> None:
    template = synthesize("bulk_off").app_template
    for resource_type in (STATE_MACHINE, "AWS::S3::Bucket", "Custom::S3AutoDeleteObjects"):
        template.resource_count_is(resource_type, 0)
    assert not [name for name in template.to_json()["Outputs"] if name.startswith("Bulk")]


def test_an_existing_bucket_is_used_as_it_is_and_only_its_prefixes_granted(synthesize) -> None:
    template = synthesize("bulk_existing_bucket").app_template
    template.resource_count_is("AWS::S3::Bucket", 0)
    template.resource_count_is("Custom::S3AutoDeleteObjects", 0)
    bucket_arn = "arn:<AWS::Partition>:s3:::statements-in.example-bank"
    resources = sorted(s["Resource"] for s in role_statements(template) if "s3:GetObject" in as_list(s["Action"]))
    assert resources == [f"{bucket_arn}/{INPUT_PREFIX}*", f"{bucket_arn}/{OUTPUT_PREFIX}*"]
    for state in scoring_maps(template).values():
        assert state["ItemReader"]["Parameters"]["Bucket"] == "statements-in.example-bank"


def test_concurrency_tolerated_failures_and_expiry_come_from_config(synthesize) -> None:
    template = synthesize("bulk_tuned").app_template
    for state in scoring_maps(template).values():
        # CDK leaves out a percentage of 0, which is Step Functions' default: no failed batch tolerated.
        assert (state["MaxConcurrency"], state.get("ToleratedFailurePercentage", 0)) == (50, 0)
    (bucket,) = template.find_resources("AWS::S3::Bucket").values()
    days = {
        rule.get("Prefix"): rule.get("ExpirationInDays")
        for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    }
    assert days[INPUT_PREFIX] == days[OUTPUT_PREFIX] == 7


@pytest.mark.parametrize("variant", ["provisioned_concurrency"])
def test_with_provisioned_concurrency_the_job_invokes_the_live_alias(synthesize, variant: str) -> None:
    app: SynthesizedApp = synthesize(variant)
    alias = logical_id(app.app_template, "AWS::Lambda::Alias")
    for state in scoring_maps(app.app_template).values():
        (task,) = state["ItemProcessor"]["States"].values()
        assert task["Resource"] == f"<{alias}>"


def _model_function(template: Template) -> str:
    """The model function's logical id (the stack's other function empties the bulk bucket)."""
    (found,) = template.find_resources("AWS::Lambda::Function", {"Properties": {"PackageType": "Image"}})
    return found
