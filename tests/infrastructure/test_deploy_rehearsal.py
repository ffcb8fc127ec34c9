"""Deploy rehearsal: moto's CloudFormation creates the synthesized stack in-process, so tools that
read the deployed stack can be tested end to end without AWS.

moto skips the types it lacks (API Gateway Stage, Model, RequestValidator, GatewayResponse,
CloudWatch Alarm, S3 BucketPolicy) with a warning, and creates the rest: roles, log groups,
functions, REST API, resources, methods, rule, permissions, the bulk job's bucket and state machine.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import warnings
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.infrastructure.synth import CDK_CONTEXT, SynthesizedApp

# moto re-reads the template when asked about the stack and warns again each time.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS.* not supported by moto")
UNSUPPORTED = re.compile(r"Tried to parse (AWS::\S+) but it's not supported")
REGION = "us-east-1"
STACK_NAME = CDK_CONTEXT["stack_name"]
ACCOUNT = "123456789012"  # moto's
# The model function's logical id starts so (the stack's other function empties the bulk bucket).
MODEL_FUNCTION = "ModeltransactionclassifierFunction"


def with_stage_refs_resolved(template: dict[str, Any]) -> dict[str, Any]:
    """The one adaptation: moto has no AWS::ApiGateway::Stage, so a `Ref` to the stage would
    come out as "None". CloudFormation's Ref of a stage is its StageName; put that in place."""
    stage_names = {
        logical_id: resource["Properties"]["StageName"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::ApiGateway::Stage"
    }

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in stage_names:
                return stage_names[node["Ref"]]
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    adapted = copy.deepcopy(template)
    adapted["Outputs"] = resolve(adapted["Outputs"])
    return adapted


@dataclass(frozen=True)
class Rehearsal:
    session: boto3.Session
    skipped_types: set[str]


def without_custom_resources(template: dict[str, Any]) -> dict[str, Any]:
    """The second adaptation: moto runs a custom resource's Lambda in Docker, which the suite does
    without, and would wait for its answer for ever. The one here empties the bulk bucket on delete."""
    adapted = copy.deepcopy(template)
    adapted["Resources"] = {
        logical_id: resource
        for logical_id, resource in adapted["Resources"].items()
        if not resource["Type"].startswith("Custom::")
    }
    return adapted


def with_mock_integrations_filled_in(template: dict[str, Any]) -> dict[str, Any]:
    """The third adaptation: moto reads every integration's IntegrationHttpMethod and Uri, which a
    MOCK integration (GET /models) has no use for and CloudFormation does not require."""
    adapted = copy.deepcopy(template)
    for resource in adapted["Resources"].values():
        integration = resource.get("Properties", {}).get("Integration", {})
        if integration.get("Type") == "MOCK":
            integration.setdefault("IntegrationHttpMethod", "GET")
            integration.setdefault("Uri", "")
    return adapted


def publish_file_assets(session: boto3.Session, app: SynthesizedApp) -> None:
    """What `cdk deploy` does before it creates the stack: each file asset of the app stack (the
    code of the bulk bucket's emptying Lambda) zipped into the staging bucket, which moto's Lambda reads."""
    manifest = json.loads((app.directory / f"{STACK_NAME}.assets.json").read_text())
    s3 = session.client("s3")
    for asset in manifest["files"].values():
        if asset["source"].get("packaging") != "zip":  # the template itself
            continue
        for destination in asset["destinations"].values():
            bucket = destination["bucketName"].replace("${AWS::AccountId}", ACCOUNT).replace("${AWS::Region}", REGION)
            if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
                s3.create_bucket(Bucket=bucket)
            archive = shutil.make_archive(
                str(app.directory / "rehearsal"), "zip", app.directory / asset["source"]["path"]
            )
            s3.upload_file(archive, bucket, destination["objectKey"])


@pytest.fixture(scope="module")
def deployed(default_app: SynthesizedApp):
    """The stack created in moto's CloudFormation (moto supplies fake credentials)."""
    template = with_mock_integrations_filled_in(
        without_custom_resources(with_stage_refs_resolved(default_app.templates[STACK_NAME]))
    )
    with mock_aws(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        session = boto3.Session(region_name=REGION)
        publish_file_assets(session, default_app)
        session.client("cloudformation").create_stack(
            StackName=STACK_NAME, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"]
        )
        skipped = {match[1] for w in caught if (match := UNSUPPORTED.search(str(w.message)))}
        yield Rehearsal(session, skipped)


def stack_resources(deployed: Rehearsal, resource_type: str, logical_prefix: str = "") -> list[str]:
    resources = deployed.session.client("cloudformation").describe_stack_resources(StackName=STACK_NAME)[
        "StackResources"
    ]
    return [
        r["PhysicalResourceId"]
        for r in resources
        if r.get("ResourceType") == resource_type and r["LogicalResourceId"].startswith(logical_prefix)
    ]


def stack_resource(deployed: Rehearsal, resource_type: str, logical_prefix: str = "") -> str:
    (physical_id,) = stack_resources(deployed, resource_type, logical_prefix)
    return physical_id


def test_moto_skips_only_types_that_the_rehearsal_does_not_need(deployed: Rehearsal) -> None:
    assert deployed.skipped_types == {
        "AWS::ApiGateway::Stage",
        "AWS::ApiGateway::Model",
        "AWS::ApiGateway::RequestValidator",
        "AWS::ApiGateway::GatewayResponse",
        "AWS::CloudWatch::Alarm",
        "AWS::S3::BucketPolicy",
    }


def test_stack_is_created_and_describe_stacks_answers_the_api_url(deployed: Rehearsal) -> None:
    (stack,) = deployed.session.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
    api_id = stack_resource(deployed, "AWS::ApiGateway::RestApi")
    assert outputs["ApiUrl"] == f"https://{api_id}.execute-api.{REGION}.amazonaws.com/prod/predict"
    assert outputs["ModelsUrl"] == f"https://{api_id}.execute-api.{REGION}.amazonaws.com/prod/models"
    assert outputs["AuthMode"] == "NONE"
    function = stack_resource(deployed, "AWS::Lambda::Function", MODEL_FUNCTION)
    assert json.loads(outputs["ModelFunctionNames"]) == {"transaction-classifier": function}


def test_function_is_created_from_the_staging_repository_image(deployed: Rehearsal) -> None:
    function = deployed.session.client("lambda").get_function(
        FunctionName=stack_resource(deployed, "AWS::Lambda::Function", MODEL_FUNCTION)
    )
    assert function["Code"]["ImageUri"].startswith(
        f"123456789012.dkr.ecr.{REGION}.amazonaws.com/pytorchinferenceapi/transaction-classifier:"
    )
    configuration = function["Configuration"]
    assert (configuration["MemorySize"], configuration["Timeout"]) == (2048, 28)
    assert configuration["Environment"]["Variables"]["MODEL_DIR"] == "/opt/ml/model"


def test_api_has_post_predict_the_models_routes_and_the_catch_all_routes(deployed: Rehearsal) -> None:
    api_id = stack_resource(deployed, "AWS::ApiGateway::RestApi")
    resources = deployed.session.client("apigateway").get_resources(restApiId=api_id)["items"]
    methods = {resource["path"]: sorted(resource.get("resourceMethods", {})) for resource in resources}
    assert methods == {
        "/": ["ANY"],
        "/predict": ["ANY", "POST"],
        "/models": ["ANY", "GET"],
        "/models/transaction-classifier": ["ANY"],
        "/models/transaction-classifier/predict": ["ANY", "POST"],
        "/{proxy+}": ["ANY"],
    }


def test_warmup_rule_targets_the_function_with_the_warmup_event(deployed: Rehearsal) -> None:
    events = deployed.session.client("events")
    (target,) = events.list_targets_by_rule(Rule=stack_resource(deployed, "AWS::Events::Rule"))["Targets"]
    assert target["Arn"].endswith(":function:" + stack_resource(deployed, "AWS::Lambda::Function", MODEL_FUNCTION))
    assert json.loads(target["Input"]) == {"warmup": True}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 0}


def test_log_groups_are_created_with_their_retention(deployed: Rehearsal) -> None:
    names = stack_resources(deployed, "AWS::Logs::LogGroup")
    assert stack_resource(deployed, "AWS::Logs::LogGroup", "ModeltransactionclassifierLogs") in names
    assert len(names) >= 2  # the function's and the API's access logs, and the bulk job's
    for name in names:
        (group,) = deployed.session.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        assert group["retentionInDays"] == 30
