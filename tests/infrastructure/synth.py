"""The real app from app.py, synthesized with the real cdk.json context plus the overrides of
one variant, given as strings the way `-c key=value` gives them. No AWS, no Docker."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import cx_api
from aws_cdk.assertions import Template

from app import build_app
from deployment.stacks import STAGING_STACK_PREFIX

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
# CDK's usage telemetry resource (AWS::CDK::Metadata) changes with every CDK release; it is
# not part of our infrastructure.
TEST_CONTEXT = {"aws:cdk:version-reporting": False}
# Staging copies each image's build context (its model, 88 MB for the classifier) into cdk.out;
# dozens of synths would fill a small CI disk. Templates are the same either way, so only the
# variants whose build context a test reads are staged (and a synth whose file assets a test
# publishes: unstaged, they point at jsii's temporary folders, gone by then).
UNSTAGED = {"aws:cdk:disable-asset-staging": True}
STAGED_VARIANTS = {"default", "onnx", "int8", "multi_model"}
ALARM_TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:ops-alarms"
# The default configuration, each option switched away from its default on its own (the bulk
# job's three numbers together), the two alarm destinations together, and two models (the second
# with a memory of its own).
VARIANTS: dict[str, dict[str, str]] = {
    "default": {},
    "arm64": {"architecture": "arm64"},
    "warmup_off": {"warmup_enabled": "false"},
    "dashboard_off": {"dashboard_enabled": "false"},
    "api_key": {"api_key_required": "true"},
    "iam_auth": {"iam_auth": "true"},
    "provisioned_concurrency": {"provisioned_concurrency": "2"},
    "cors": {"cors_allow_origins": "https://app.example.com,https://admin.example.com"},
    "alarm_email": {"alarm_email": "ops@example.com"},
    "alarm_topic": {"alarm_topic_arn": ALARM_TOPIC_ARN},
    "alarm_email_and_topic": {"alarm_email": "ops@example.com", "alarm_topic_arn": ALARM_TOPIC_ARN},
    "onnx": {"backend": "onnx"},
    "int8": {"model_variant": "int8"},
    "min_score": {"default_min_score": "0.85"},
    "snapstart": {"snapstart": "true"},
    "ephemeral_storage": {"ephemeral_storage_mb": "2048"},
    "xray_tracing": {"xray_tracing": "true"},
    "access_logs_off": {"api_access_logs": "false"},
    "bulk_off": {"bulk_enabled": "false"},
    "bulk_existing_bucket": {"bulk_bucket_name": "statements-in.example-bank"},
    "bulk_tuned": {
        "bulk_max_concurrency": "50",
        "bulk_tolerated_failure_percentage": "0",
        "bulk_results_expire_days": "7",
    },
    # Every demo package, one of each task kind (issue #13's "done means").
    "multi_model": {
        "models": "transaction-classifier,embeddings,merchant-normalizer,digits",
        "model_memory_mb": "embeddings=1024,digits=512",
    },
}
STAGING_PREFIX = f"{STAGING_STACK_PREFIX}-"


@dataclass(frozen=True)
class SynthesizedApp:
    assembly: cx_api.CloudAssembly

    @property
    def directory(self) -> Path:
        return Path(self.assembly.directory)

    @property
    def templates(self) -> dict[str, dict[str, Any]]:
        """Every stack's template by stack name: the app stack and AppStagingSynthesizer's staging stack."""
        return {stack.stack_name: stack.template for stack in self.assembly.stacks}

    @property
    def app_template(self) -> Template:
        (template,) = [body for name, body in self.templates.items() if not name.startswith(STAGING_PREFIX)]
        return Template.from_json(template)

    @property
    def staging_template(self) -> Template:
        (template,) = [body for name, body in self.templates.items() if name.startswith(STAGING_PREFIX)]
        return Template.from_json(template)

    @property
    def image_context(self) -> Path:
        """The model function's image build context (the assembly's other assets are Lambda code);
        only a staged synth has one of its own."""
        manifest = json.loads((self.directory / f"{CDK_CONTEXT['stack_name']}.assets.json").read_text())
        (image,) = manifest["dockerImages"].values()
        return self.directory / image["source"]["directory"]

    @property
    def validation_report(self) -> dict[str, Any]:
        return json.loads((self.directory / "validation-report.json").read_text())


def synthesize_app(variant: str, outdir: Path, *, stage_assets: bool = False) -> SynthesizedApp:
    context = {**CDK_CONTEXT, **VARIANTS[variant], **TEST_CONTEXT, **({} if stage_assets else UNSTAGED)}
    return SynthesizedApp(build_app(context, outdir=str(outdir)).synth())
