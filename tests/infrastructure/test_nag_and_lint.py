"""cdk-nag (AwsSolutions) and cfn-lint pass on every variant's templates, staging stack included."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cfnlint.api import ManualArgs, lint

from app import build_app
from tests.infrastructure.synth import CDK_CONTEXT, UNSTAGED, VARIANTS

# Regions with Lambda container images on both architectures, where users are likely to deploy.
LINT_REGIONS = ["us-east-1", "eu-west-1"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_cdk_nag_has_no_unacknowledged_findings(synthesize, variant: str) -> None:
    reports = synthesize(variant).validation_report["pluginReports"]
    assert [violation["ruleName"] for report in reports for violation in report["violations"]] == []


def test_cdk_nag_fails_synth_on_an_unacknowledged_finding(tmp_path) -> None:
    app = build_app({**CDK_CONTEXT, **UNSTAGED}, outdir=str(tmp_path))
    # A bucket without access logs or TLS enforcement: findings nothing acknowledges.
    stack = app.node.find_child(CDK_CONTEXT["stack_name"])
    assert isinstance(stack, cdk.Stack)
    s3.Bucket(stack, "UnloggedBucket")
    with pytest.raises(RuntimeError, match="^ValidationFailed"):
        app.synth()
    (report,) = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    assert report["pluginName"] == "AwsSolutions"
    assert {violation["ruleName"] for violation in report["violations"]} == {"AwsSolutions-S1", "AwsSolutions-S10"}


@pytest.mark.parametrize("variant", VARIANTS)
def test_cfn_lint_finds_no_errors(synthesize, variant: str) -> None:
    templates = synthesize(variant).templates
    assert len(templates) == 2
    for name, template in templates.items():
        matches = lint(json.dumps(template), config=ManualArgs(regions=LINT_REGIONS))
        errors = [
            f"{match.rule.id} {match.path}: {match.message}" for match in matches if match.rule.id.startswith("E")
        ]
        assert errors == [], name
