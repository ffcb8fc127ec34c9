"""The stack's settings: one typed, validated object read from CDK context.

Defaults live in cdk.json ("context"); `-c key=value` overrides them and arrives as a
string, so every rule below accepts both the JSON value and its string spelling.
A bad value raises ConfigError with a one-line message naming the key and what is allowed;
so does a key that is not a setting (a misspelled `-c` key would otherwise be ignored).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Node

from deployment.catalog import NAME, parse_model_names
from inference.package import Backend, Variant


class ConfigError(ValueError):
    """A context value is missing or not allowed; the message is meant for the user."""


class Refused(ValueError):
    """Raised by a rule that can say what exactly is wrong (instead of "expected <allowed>")."""


class Rule(Protocol):
    @property
    def allowed(self) -> str: ...

    def parse(self, raw: Any) -> Any: ...


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int

    @property
    def allowed(self) -> str:
        return f"an integer in {self.low}..{self.high}"

    def parse(self, raw: Any) -> int:
        if isinstance(raw, bool) or not re.fullmatch(r"-?\d+", str(raw).strip()):
            raise ValueError
        value = int(str(raw).strip())
        if not self.low <= value <= self.high:
            raise ValueError
        return value


@dataclass(frozen=True)
class FloatRange:
    low: float
    high: float

    @property
    def allowed(self) -> str:
        return f"a number in {self.low:g}..{self.high:g}"

    def parse(self, raw: Any) -> float:
        # float() alone would also take "nan", "inf" and "1e400"; a plain decimal is what is meant.
        if isinstance(raw, bool) or not re.fullmatch(r"-?\d+(?:\.\d+)?", str(raw).strip()):
            raise ValueError
        value = float(str(raw).strip())
        if not self.low <= value <= self.high:
            raise ValueError
        return value


@dataclass(frozen=True)
class Choice:
    choices: Mapping[str, Any]

    @property
    def allowed(self) -> str:
        return "one of " + ", ".join(self.choices)

    def parse(self, raw: Any) -> Any:
        return self.choices[str(raw).strip()]


@dataclass(frozen=True)
class Flag:
    allowed: str = "true or false"

    def parse(self, raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        return {"true": True, "false": False}[str(raw).strip().lower()]


@dataclass(frozen=True)
class Pattern:
    regex: str
    allowed: str

    def parse(self, raw: Any) -> str:
        if not isinstance(raw, str) or not re.fullmatch(self.regex, raw):
            raise ValueError
        return raw


@dataclass(frozen=True)
class OriginList:
    allowed: str = 'comma-separated origins like https://example.com, or "*", or empty for no CORS'

    def parse(self, raw: Any) -> tuple[str, ...]:
        items = raw if isinstance(raw, list) else str(raw).split(",")
        origins = tuple(str(item).strip() for item in items if str(item).strip())
        if not all(origin == "*" or re.fullmatch(r"https?://[^\s/,]+", origin) for origin in origins):
            raise ValueError
        return origins


@dataclass(frozen=True)
class PackageNames:
    allowed: str = "comma-separated package folders of model_artifacts/, each once"

    def parse(self, raw: Any) -> tuple[str, ...]:
        try:
            return parse_model_names(raw)
        except ValueError as error:
            raise Refused(str(error)) from None


@dataclass(frozen=True)
class MemoryPerModel:
    """`name=mb,name=mb` from `-c` (or a JSON object in cdk.json); empty: every model gets memory_mb."""

    memory: IntRange
    allowed: str = "comma-separated <package>=<MB> pairs like embeddings=1024, or empty"

    def parse(self, raw: Any) -> dict[str, int]:
        if isinstance(raw, dict):
            pairs: list[tuple[Any, ...]] = [(str(name), value) for name, value in raw.items()]
        else:
            pairs = [tuple(item.split("=", 1)) for item in str(raw).split(",") if item.strip()]
            if any(len(pair) != 2 for pair in pairs):
                raise ValueError
        overrides: dict[str, int] = {}
        for name, value in ((str(name).strip(), value) for name, value in pairs):
            if not NAME.fullmatch(name) or name in overrides:
                raise ValueError
            try:
                overrides[name] = self.memory.parse(value)
            except ValueError:
                raise Refused(f"{name}={value}: expected {self.memory.allowed}") from None
        return overrides


# CloudWatch Logs accepts only these retention periods (days); INFINITE is left out on
# purpose: logs that never expire keep costing money after the stack is gone.
LOG_RETENTION = {
    "1": logs.RetentionDays.ONE_DAY,
    "3": logs.RetentionDays.THREE_DAYS,
    "5": logs.RetentionDays.FIVE_DAYS,
    "7": logs.RetentionDays.ONE_WEEK,
    "14": logs.RetentionDays.TWO_WEEKS,
    "30": logs.RetentionDays.ONE_MONTH,
    "60": logs.RetentionDays.TWO_MONTHS,
    "90": logs.RetentionDays.THREE_MONTHS,
    "120": logs.RetentionDays.FOUR_MONTHS,
    "150": logs.RetentionDays.FIVE_MONTHS,
    "180": logs.RetentionDays.SIX_MONTHS,
    "365": logs.RetentionDays.ONE_YEAR,
    "400": logs.RetentionDays.THIRTEEN_MONTHS,
    "545": logs.RetentionDays.EIGHTEEN_MONTHS,
    "731": logs.RetentionDays.TWO_YEARS,
    "1096": logs.RetentionDays.THREE_YEARS,
    "1827": logs.RetentionDays.FIVE_YEARS,
    "2192": logs.RetentionDays.SIX_YEARS,
    "2557": logs.RetentionDays.SEVEN_YEARS,
    "2922": logs.RetentionDays.EIGHT_YEARS,
    "3288": logs.RetentionDays.NINE_YEARS,
    "3653": logs.RetentionDays.TEN_YEARS,
}

ARCHITECTURES = {"x86_64": lambda_.Architecture.X86_64, "arm64": lambda_.Architecture.ARM_64}
# An address SNS can send to, or nothing: alarms without notifications.
EMAIL_OR_EMPTY = r"(?:[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})?"
# A standard SNS topic's ARN (in any partition), or nothing. A FIFO topic (name ending in .fifo)
# is left out: publishing to it needs a message group id, which alarm notifications do not carry.
# An S3 bucket name (3-63 lowercase letters, digits, dots, hyphens), or nothing.
BUCKET_NAME_OR_EMPTY = r"(?:[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])?"
SNS_TOPIC_ARN_OR_EMPTY = r"(?:arn:aws(?:-[a-z]+)*:sns:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256})?"


def setting(rule: Rule) -> Any:
    return field(metadata={"rule": rule})


@dataclass(frozen=True, kw_only=True)
class InferenceConfig:
    # Lowercased, the stack name is also the app id that names the staging stack, its bucket
    # and its ECR repository, hence the shape (AppStagingSynthesizer allows 20 characters).
    stack_name: str = setting(
        Pattern(
            r"(?=.{1,20}\Z)[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*",
            "letters and digits, hyphen-separated words starting with a letter, at most 20 characters",
        )
    )
    # The packages (folders of model_artifacts/) deployed, one function and route each; the first
    # also answers POST /predict and serves the bulk job.
    models: tuple[str, ...] = setting(PackageNames())
    # At least 512: the handler's measured peak RSS is ~391 MB with torch, ~276 MB with onnx
    # (benchmarks/results/latest.md), plus the Lambda runtime's own headroom; less fails at init.
    # Below ~1769 MB Lambda also gives only a fraction of a vCPU.
    memory_mb: int = setting(IntRange(512, 10240))
    # Another memory for some models (an embedding model may need less than a classifier).
    model_memory_mb: dict[str, int] = setting(MemoryPerModel(IntRange(512, 10240)))
    architecture: lambda_.Architecture = setting(Choice(ARCHITECTURES))
    # API Gateway gives up after 29 s, so a longer function timeout would only hide errors.
    timeout_seconds: int = setting(IntRange(1, 28))
    # 0 derives the thread count from memory; Lambda gives a function at most 6 vCPUs.
    torch_threads: int = setting(IntRange(0, 6))
    # fp32, or int8 (faster, a little less accurate): measured in benchmarks/results/latest.md.
    model_variant: Variant = setting(Choice({"fp32": "fp32", "int8": "int8"}))
    # torch, or onnx: an image without torch that starts ~4x faster (benchmarks/README.md); fp32 only.
    backend: Backend = setting(Choice({"torch": "torch", "onnx": "onnx"}))
    max_text_chars: int = setting(IntRange(1, 100_000))
    max_batch: int = setting(IntRange(1, 1024))
    # Lambda refuses synchronous request payloads over 6 MB.
    max_body_bytes: int = setting(IntRange(1, 6_291_456))
    # Image packages: pixels an image's header may claim (Pillow's own warning threshold at most).
    max_image_pixels: int = setting(IntRange(1, 89_478_485))
    default_top_k: int = setting(IntRange(1, 100))
    # text-classification: answers whose top score is under this say "label": null (0: never).
    default_min_score: float = setting(FloatRange(0, 1))
    warmup_enabled: bool = setting(Flag())
    warmup_rate_minutes: int = setting(IntRange(1, 1440))
    # API Gateway's default account-wide quotas per region.
    throttle_rate_limit: int = setting(IntRange(1, 10_000))
    throttle_burst_limit: int = setting(IntRange(1, 5_000))
    api_key_required: bool = setting(Flag())
    iam_auth: bool = setting(Flag())
    cors_allow_origins: tuple[str, ...] = setting(OriginList())
    provisioned_concurrency: int = setting(IntRange(0, 1000))
    # Lambda SnapStart on published versions, behind the `live` alias (docs/deploy.md).
    snapstart: bool = setting(Flag())
    # /tmp's size; Lambda's 512 MB is free, more is billed (and SnapStart refuses it).
    ephemeral_storage_mb: int = setting(IntRange(512, 10240))
    # X-Ray traces of the API stage and the function; off by default (X-Ray bills per trace).
    xray_tracing: bool = setting(Flag())
    log_retention_days: logs.RetentionDays = setting(Choice(LOG_RETENTION))
    # One JSON line per API request in a log group of the stack; needs the region's API Gateway
    # CloudWatch role (docs/deploy.md), which `make deploy`'s preflight checks.
    api_access_logs: bool = setting(Flag())
    # The dashboard is $3 a month (beyond an account's first 3): most of what the stack costs idle.
    dashboard_enabled: bool = setting(Flag())
    image_keep_last: int = setting(IntRange(1, 100))
    # Empty: no topic; else every alarm notifies this address (alarm and back to OK).
    alarm_email: str = setting(
        Pattern(EMAIL_OR_EMPTY, "an email address like ops@example.com, or empty for no alarm emails")
    )
    # Empty: none; else every alarm also notifies this existing topic, which the stack does not manage.
    alarm_topic_arn: str = setting(
        Pattern(
            SNS_TOPIC_ARN_OR_EMPTY,
            "an SNS topic ARN like arn:aws:sns:us-east-1:123456789012:alarms, or empty for no existing topic",
        )
    )
    # The bulk job (infra/constructs/bulk_job.py): costs nothing while no job runs.
    bulk_enabled: bool = setting(Flag())
    # Empty: the app creates the job's bucket; else the job reads and writes this existing bucket.
    bulk_bucket_name: str = setting(
        Pattern(BUCKET_NAME_OR_EMPTY, "an existing S3 bucket's name, or empty for a bucket of the app")
    )
    # Batches in flight at once: each is one concurrent Lambda execution, taken from the account's
    # concurrency (1,000 by default) that the API needs too.
    bulk_max_concurrency: int = setting(IntRange(1, 1000))
    # Batches that may still fail after their retries (as a share of all) before the job fails.
    bulk_tolerated_failure_percentage: int = setting(IntRange(0, 100))
    # Inputs and results in the app's bucket are deleted this many days after they were written.
    bulk_results_expire_days: int = setting(IntRange(1, 3650))

    def __post_init__(self) -> None:
        for name in self.model_memory_mb:
            if name not in self.models:
                close = difflib.get_close_matches(name, self.models, n=1)
                hint = f"did you mean {close[0]}?" if close else "deployed: " + ", ".join(self.models)
                raise ConfigError(f"model_memory_mb names {name}, which is not in models ({hint})")
        if self.backend == "onnx" and self.model_variant != "fp32":
            raise ConfigError(
                f"backend=onnx with model_variant={self.model_variant} is not allowed: "
                "the onnx backend serves fp32 only"
            )
        # Lambda refuses SnapStart together with either (docs/deploy.md).
        if self.snapstart and self.provisioned_concurrency:
            raise ConfigError(
                f"snapstart=true with provisioned_concurrency={self.provisioned_concurrency} is not allowed: "
                "Lambda does not support SnapStart with provisioned concurrency (set one of them to false/0)"
            )
        if self.snapstart and self.ephemeral_storage_mb > 512:
            raise ConfigError(
                f"snapstart=true with ephemeral_storage_mb={self.ephemeral_storage_mb} is not allowed: "
                "Lambda supports SnapStart only with 512 MB of ephemeral storage"
            )

    @classmethod
    def from_context(cls, node: Node) -> InferenceConfig:
        _refuse_unknown_keys(node, [spec.name for spec in fields(cls)])
        return cls(**{spec.name: _read(node, spec.name, spec.metadata["rule"]) for spec in fields(cls)})

    def memory_mb_of(self, model: str) -> int:
        """The memory of the function serving `model`: its own override, else memory_mb."""
        return self.model_memory_mb.get(model, self.memory_mb)

    @property
    def app_id(self) -> str:
        """Names this app's staging stack, bucket and ECR repository (AppStagingSynthesizer)."""
        return self.stack_name.lower()


# What the CDK CLI and CDK itself put in the context besides cdk.json's settings: feature flags
# ("@aws-cdk/..."), CLI switches ("aws:cdk:version-reporting", "aws:cdk:bundling-stacks", ...),
# older "aws-cdk:..." and "cdk-..." keys, context-lookup results cached in cdk.context.json
# (their keys hold ":"), and the notices `cdk acknowledge` records there.
CDK_KEY_PREFIXES = ("@", "aws:", "aws-cdk:", "cdk")
CDK_KEYS = {"acknowledged-issue-numbers"}


def _refuse_unknown_keys(node: Node, settings: list[str]) -> None:
    for key in sorted(node.get_all_context()):
        if key in settings or key in CDK_KEYS or key.startswith(CDK_KEY_PREFIXES) or ":" in key:
            continue
        close = difflib.get_close_matches(key, settings, n=1)
        hint = f" (did you mean {close[0]}?)" if close else " (the settings are the keys in cdk.json's context)"
        raise ConfigError(f"unknown key {key}{hint}")


def _read(node: Node, key: str, rule: Rule) -> Any:
    raw = node.try_get_context(key)
    if raw is None:
        raise ConfigError(f"{key} is not set: add it to the context in cdk.json ({rule.allowed})")
    try:
        return rule.parse(raw)
    except Refused as reason:
        raise ConfigError(f"{key}={raw} is not allowed: {reason}") from None
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"{key}={raw} is not allowed: expected {rule.allowed}") from None
