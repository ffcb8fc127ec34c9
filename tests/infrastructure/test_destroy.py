"""Nothing billable is left after `cdk destroy --all`: every resource of every stack in each
variant's cloud assembly (the app stack and AppStagingSynthesizer's staging stack) is deleted
with its stack, and whatever holds data is emptied first or expires."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.infrastructure.synth import VARIANTS, SynthesizedApp
from tests.infrastructure.test_security import as_list, statements

# Types that hold no data and create nothing at run time: deleting them leaves nothing.
CONFIGURATION_ONLY = {
    "AWS::ApiGateway::ApiKey",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::GatewayResponse",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Model",
    "AWS::ApiGateway::RequestValidator",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::UsagePlanKey",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::Events::Rule",
    "AWS::IAM::Policy",
    "AWS::IAM::Role",
    "AWS::Lambda::Alias",
    "AWS::Lambda::Permission",
    "AWS::Lambda::Version",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
}
# Types that store data or make something at run time; each has its own test below.
CHECKED_BELOW = {
    "AWS::ECR::Repository",
    "AWS::KMS::Key",
    "AWS::Lambda::Function",
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
    "AWS::StepFunctions::StateMachine",
    "Custom::S3AutoDeleteObjects",
}
# A managed policy's statements are not in the template; AWSLambdaBasicExecutionRole, the usual
# one, lets a function create its own log group at run time, outside any stack.
CREATES_LOG_GROUPS = {"logs:CreateLogGroup", "logs:*", "*"}


@pytest.fixture(scope="module", params=list(VARIANTS))
def app(request, synthesize) -> SynthesizedApp:
    return synthesize(request.param)


def resources(app: SynthesizedApp, resource_type: str | None = None) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(stack name, logical id, resource) of every resource of every stack in the assembly."""
    for stack_name, template in app.templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource_type in (None, resource["Type"]):
                yield stack_name, logical_id, resource


def test_the_assembly_has_the_app_stack_and_the_staging_stack(app: SynthesizedApp) -> None:
    assert len(app.templates) == 2


def test_every_resource_type_is_known_to_leave_nothing_behind(app: SynthesizedApp) -> None:
    unknown = {resource["Type"] for _, _, resource in resources(app)} - CONFIGURATION_ONLY - CHECKED_BELOW
    assert unknown == set(), "a new resource type: decide what `cdk destroy` leaves of it, then list it here"


def test_every_resource_is_deleted_never_retained_or_snapshotted(app: SynthesizedApp) -> None:
    for stack_name, logical_id, resource in resources(app):
        assert resource.get("DeletionPolicy", "Delete") == "Delete", (stack_name, logical_id)
        assert resource.get("UpdateReplacePolicy", "Delete") == "Delete", (stack_name, logical_id)


def test_every_bucket_is_emptied_before_it_is_deleted(app: SynthesizedApp) -> None:
    buckets = [(stack, logical_id) for stack, logical_id, _ in resources(app, "AWS::S3::Bucket")]
    emptied = {
        (stack, resource["Properties"]["BucketName"]["Ref"])
        for stack, _, resource in resources(app, "Custom::S3AutoDeleteObjects")
    }
    assert buckets and set(buckets) == emptied
    # The emptying Lambda skips a bucket without this tag (and fails on one with no tags).
    for stack, logical_id, bucket in resources(app, "AWS::S3::Bucket"):
        assert {"Key": "aws-cdk:auto-delete-objects", "Value": "true"} in bucket["Properties"]["Tags"], (
            stack,
            logical_id,
        )


def test_every_ecr_repository_is_emptied_on_delete(app: SynthesizedApp) -> None:
    repositories = list(resources(app, "AWS::ECR::Repository"))
    assert repositories
    for _, _, repository in repositories:
        assert repository["Properties"]["EmptyOnDelete"] is True


def test_every_log_group_expires(app: SynthesizedApp) -> None:
    log_groups = list(resources(app, "AWS::Logs::LogGroup"))
    access_logs = [
        stage for _, _, stage in resources(app, "AWS::ApiGateway::Stage") if "AccessLogSetting" in stage["Properties"]
    ]
    # One for each Lambda function and state machine (the tests below check who logs where), and
    # the API's access logs (if on).
    logging = list(resources(app, "AWS::Lambda::Function")) + list(resources(app, "AWS::StepFunctions::StateMachine"))
    assert len(log_groups) == len(logging) + len(access_logs)
    for _, _, log_group in log_groups:
        assert log_group["Properties"]["RetentionInDays"] > 0


def test_every_lambda_function_logs_to_a_log_group_of_its_own_stack(app: SynthesizedApp) -> None:
    """Not to /aws/lambda/<name>, which Lambda would create at run time and destroy never deletes."""
    functions = list(resources(app, "AWS::Lambda::Function"))
    # A model function per model, and a bucket-emptying one in each stack with a bucket (staging, bulk job's).
    models = [function for _, _, function in functions if function["Properties"].get("PackageType") == "Image"]
    stacks_with_buckets = {stack for stack, _, _ in resources(app, "AWS::S3::Bucket")}
    assert models and len(functions) == len(models) + len(stacks_with_buckets)
    for stack, logical_id, function in functions:
        log_group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert app.templates[stack]["Resources"][log_group]["Type"] == "AWS::Logs::LogGroup", logical_id


def test_the_bulk_job_logs_to_a_log_group_of_its_own_stack(app: SynthesizedApp) -> None:
    """Not to one Step Functions or Lambda would create at run time."""
    for stack, logical_id, machine in resources(app, "AWS::StepFunctions::StateMachine"):
        (destination,) = machine["Properties"]["LoggingConfiguration"]["Destinations"]
        log_group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
        assert app.templates[stack]["Resources"][log_group]["Type"] == "AWS::Logs::LogGroup", logical_id


def test_no_role_may_create_a_log_group_at_run_time(app: SynthesizedApp) -> None:
    roles = list(resources(app, "AWS::IAM::Role"))
    assert roles
    for stack, logical_id, role in roles:
        assert "ManagedPolicyArns" not in role["Properties"], (stack, logical_id)
    for template in app.templates.values():
        for logical_id, statement in statements(template):
            if statement["Effect"] == "Allow":
                assert not CREATES_LOG_GROUPS & set(as_list(statement["Action"])), logical_id


def test_the_alarm_topics_key_is_deleted_after_kms_shortest_wait(synthesize) -> None:
    """KMS never deletes a key at once; a key pending deletion is not billed."""
    (key,) = [resource for _, _, resource in resources(synthesize("alarm_email"), "AWS::KMS::Key")]
    assert key["DeletionPolicy"] == "Delete"
    assert key["Properties"]["PendingWindowInDays"] == 7
