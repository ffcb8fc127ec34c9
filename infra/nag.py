"""cdk-nag AwsSolutions checks, and how a construct acknowledges what it accepts.

Every finding not acknowledged fails `cdk synth` (cdk-nag 3 runs as a CDK policy validation
plugin). Each construct acknowledges its own findings, each with its reason: one rule (or one
finding of a granular rule) on the narrowest construct it applies to.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from infra.nodes import default_child


def add_nag_checks(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def nag_arn(construct: IConstruct) -> str:
    """How cdk-nag shows the ARN of a construct of this stack: <LogicalId.Arn>."""
    return f"<{cdk.Stack.of(construct).get_logical_id(default_child(construct, cdk.CfnElement))}.Arn>"
