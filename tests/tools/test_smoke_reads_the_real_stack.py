"""The contract between the stack and the smoke tool: the outputs of the real synthesized stack
(IAM auth on), created by moto's CloudFormation, are what the tool reads its target from."""

from __future__ import annotations

import json

import pytest

from tests.infrastructure.synth import CDK_CONTEXT, SynthesizedApp, synthesize_app
from tests.infrastructure.test_deploy_rehearsal import (
    publish_file_assets,
    with_mock_integrations_filled_in,
    without_custom_resources,
)
from tools.smoke import parse_args, resolve_target

# moto creates what it can of the template and warns about the rest (see the deploy rehearsal).
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Tried to parse AWS.* not supported by moto")]
STACK = CDK_CONTEXT["stack_name"]


@pytest.fixture(scope="module")
def iam_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    # Staged: its file assets are zipped from cdk.out and published, as a deploy does.
    return synthesize_app("iam_auth", tmp_path_factory.mktemp("cdk.out-iam"), stage_assets=True)


def test_an_iam_stack_is_called_at_its_api_url_with_sigv4_for_execute_api(aws, iam_app):
    # As in the deploy rehearsal: the file assets published first, the custom resource left out.
    publish_file_assets(aws, iam_app)
    template = with_mock_integrations_filled_in(without_custom_resources(iam_app.templates[STACK]))
    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    (stack,) = cloudformation.describe_stacks(StackName=STACK)["Stacks"]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}

    target = resolve_target(parse_args(["--stack", STACK]))

    assert target.url == outputs["ApiUrl"]
    assert target.url.startswith("https://") and f".execute-api.{aws.region_name}.amazonaws.com/" in target.url
    assert (target.auth, target.signer._service_name, target.signer._region_name) == (
        "IAM (SigV4)",
        "execute-api",
        aws.region_name,
    )
