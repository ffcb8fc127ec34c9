"""The deployment's settings: one typed, validated object read from cdk.json's context and `-c`.

Synth (app.py), preflight, `make cost` and the local server all read them here, the tools with
the `-c key=value` options of CDK_ARGS applied as cdk applies them. The settings of the function
(max_batch, backend, ...) are the runtime's own model (inference.settings.Settings), embedded:
their types, bounds and rules are written there once, and each function's environment is derived
from it (`function_settings(...).to_env()`). A bad value raises SettingsError, one line naming the
key and what is allowed; so does a key that is not a setting (a misspelled `-c` key would
otherwise be ignored).
"""

from __future__ import annotations

import difflib
import json
import os
import shlex
from collections.abc import Mapping
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from deployment.catalog import NAME, parse_model_names
from inference.settings import SET_BY_LAMBDA, Settings, WholeNumber, whole_number

REPO = Path(__file__).resolve().parents[1]
# The runtime's fields each function has of its own (function_settings sets them; Lambda sets the
# memory; the metrics namespace is the dashboard's): every other field of Settings is a setting
# of the deployment, one value for all functions.
PER_FUNCTION = frozenset({"model_dir", "model_name", "service_name", "metrics_namespace"}) | SET_BY_LAMBDA
# cdk.json's name of a runtime field, where it is not the field's own.
KEY_OF_FIELD = {"model_backend": "backend"}
# What the CDK CLI and CDK itself put in the context besides cdk.json's settings: feature flags
# ("@aws-cdk/..."), CLI switches ("aws:cdk:version-reporting", "aws:cdk:bundling-stacks", ...),
# older "aws-cdk:..." and "cdk-..." keys, context-lookup results cached in cdk.context.json
# (their keys hold ":"), and the notices `cdk acknowledge` records there.
CDK_KEY_PREFIXES = ("@", "aws:", "aws-cdk:", "cdk")
CDK_KEYS = {"acknowledged-issue-numbers"}
# cdk's own options that set context (`-c key=value`, `--context key=value`).
CONTEXT_OPTIONS = ("-c", "--context")


class SettingsError(ValueError):
    """A setting is missing or not allowed; the message is one line meant for the user."""


def _true_or_false(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise PydanticCustomError("bool_parsing", "Input should be true or false")
    return value


def _package_names(value: object, info: ValidationInfo) -> tuple[str, ...]:
    """Folders of model_artifacts/ (validation context "packages_dir": another checkout's)."""
    return parse_model_names(value, (info.context or {}).get("packages_dir"))  # ValueError: the reason, in words


def _memory_pairs(value: object) -> object:
    """`name=mb,name=mb` from `-c` (or a JSON object in cdk.json), each package once."""
    if isinstance(value, dict):
        pairs: list[list[Any]] = [[str(name), mb] for name, mb in value.items()]
    else:
        pairs = [item.split("=", 1) for item in str(value).split(",") if item.strip()]
    names = [str(pair[0]).strip() for pair in pairs]
    if any(len(pair) != 2 for pair in pairs) or not all(map(NAME.fullmatch, names)) or len(set(names)) < len(names):
        raise PydanticCustomError("memory_pairs", "Input should be <package>=<MB> pairs")
    return {name: pair[1] for name, pair in zip(names, pairs, strict=True)}


Flag = Annotated[bool, BeforeValidator(_true_or_false)]
# At least 512: the handler's peak RSS (benchmarks/results/latest.md) plus the Lambda runtime's own
# headroom; less fails at init. Below 1769 MB Lambda also gives only a fraction of a vCPU.
Memory = Annotated[int, Field(ge=512, le=10240), BeforeValidator(whole_number)]
# CloudWatch Logs accepts only these retention periods (days); never-expiring is left out on
# purpose: logs that never expire keep costing money after the stack is gone.
RetentionDays = Literal[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
]
# An address SNS can send to, or nothing: alarms without notifications.
EMAIL_OR_EMPTY = r"\A(?:[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})?\Z"
# A standard SNS topic's ARN (in any partition), or nothing. A FIFO topic (name ending in .fifo)
# is left out: publishing to it needs a message group id, which alarm notifications do not carry.
EXAMPLE_TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:alarms"
SNS_TOPIC_ARN_OR_EMPTY = r"\A(?:arn:aws(?:-[a-z]+)*:sns:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256})?\Z"
# An S3 bucket name (3-63 lowercase letters, digits, dots, hyphens), or nothing.
BUCKET_NAME_OR_EMPTY = r"\A(?:[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])?\Z"


class DeploymentSettings(BaseModel):
    """Every key of cdk.json's context that is ours; `runtime` holds the function's settings, whose
    keys sit beside the others in cdk.json (`max_batch`, `backend`, ...)."""

    # python-re: the stack name's pattern looks ahead, which pydantic's default regex engine cannot.
    model_config = ConfigDict(frozen=True, extra="forbid", regex_engine="python-re")

    # Lowercased, the stack name is also the app id that names the staging stack, its bucket
    # and its ECR repository, hence the shape (AppStagingSynthesizer allows 20 characters).
    stack_name: Annotated[
        str,
        StringConstraints(pattern=r"\A(?=.{1,20}\Z)[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*\Z"),
        Field(description="letters and digits, hyphen-separated words starting with a letter, at most 20 characters"),
    ]
    # The packages (folders of model_artifacts/) deployed, one function and route each; the first
    # also answers POST /predict and serves the bulk job.
    models: Annotated[
        tuple[str, ...],
        BeforeValidator(_package_names),
        Field(description="comma-separated package folders of model_artifacts/, each once"),
    ]
    memory_mb: Memory
    # Another memory for some models (an embedding model may need less than a classifier).
    model_memory_mb: Annotated[
        dict[str, Memory],
        BeforeValidator(_memory_pairs),
        Field(description="comma-separated <package>=<MB> pairs like embeddings=1024, or empty"),
    ]
    architecture: Literal["x86_64", "arm64"]
    # API Gateway gives up after 29 s, so a longer function timeout would only hide errors.
    timeout_seconds: WholeNumber = Field(ge=1, le=28)
    warmup_enabled: Flag
    warmup_rate_minutes: WholeNumber = Field(ge=1, le=1440)
    # API Gateway's default account-wide quotas per region.
    throttle_rate_limit: WholeNumber = Field(ge=1, le=10_000)
    throttle_burst_limit: WholeNumber = Field(ge=1, le=5_000)
    api_key_required: Flag
    iam_auth: Flag
    provisioned_concurrency: WholeNumber = Field(ge=0, le=1000)
    # Lambda SnapStart on published versions, behind the `live` alias (docs/deploy.md).
    snapstart: Flag
    # /tmp's size; Lambda's 512 MB is free, more is billed (and SnapStart refuses it).
    ephemeral_storage_mb: WholeNumber = Field(ge=512, le=10240)
    # X-Ray traces of the API stage and the function; off by default (X-Ray bills per trace).
    xray_tracing: Flag
    log_retention_days: Annotated[RetentionDays, BeforeValidator(whole_number)]
    # One JSON line per API request in a log group of the stack; needs the region's API Gateway
    # CloudWatch role (docs/deploy.md), which `make deploy`'s preflight checks.
    api_access_logs: Flag
    # The dashboard is billed per month beyond an account's first 3: most of what the stack costs
    # idle (`make cost` prices it).
    dashboard_enabled: Flag
    image_keep_last: WholeNumber = Field(ge=1, le=100)
    # Empty: no topic; else every alarm notifies this address (alarm and back to OK).
    alarm_email: Annotated[
        str,
        StringConstraints(pattern=EMAIL_OR_EMPTY),
        Field(description="an email address like ops@example.com, or empty for no alarm emails"),
    ]
    # Empty: none; else every alarm also notifies this existing topic, which the stack does not manage.
    alarm_topic_arn: Annotated[
        str,
        StringConstraints(pattern=SNS_TOPIC_ARN_OR_EMPTY),
        Field(description=f"an SNS topic ARN like {EXAMPLE_TOPIC_ARN}, or empty for no existing topic"),
    ]
    # The bulk job (infra/constructs/bulk_job.py): costs nothing while no job runs.
    bulk_enabled: Flag
    # Empty: the app creates the job's bucket; else the job reads and writes this existing bucket.
    bulk_bucket_name: Annotated[
        str,
        StringConstraints(pattern=BUCKET_NAME_OR_EMPTY),
        Field(description="an existing S3 bucket's name, or empty for a bucket of the app"),
    ]
    # Batches in flight at once: each is one concurrent Lambda execution, taken from the account's
    # concurrency (1,000 by default) that the API needs too.
    bulk_max_concurrency: WholeNumber = Field(ge=1, le=1000)
    # Batches that may still fail after their retries (as a share of all) before the job fails.
    bulk_tolerated_failure_percentage: WholeNumber = Field(ge=0, le=100)
    # Inputs and results in the app's bucket are deleted this many days after they were written.
    bulk_results_expire_days: WholeNumber = Field(ge=1, le=3650)
    # The function's settings (max_batch, backend, model_variant, torch_threads, ...), one value
    # for every function; their keys in cdk.json are runtime_keys().
    runtime: Settings

    @classmethod
    def runtime_keys(cls) -> dict[str, str]:
        """cdk.json's keys of the runtime's settings, each with its field of Settings."""
        runtime: type[Settings] = cls.model_fields["runtime"].annotation  # type: ignore[assignment]
        return {KEY_OF_FIELD.get(name, name): name for name in runtime.model_fields if name not in PER_FUNCTION}

    @classmethod
    def keys(cls) -> list[str]:
        """Every key of the settings, as cdk.json and `-c` name them."""
        return [name for name in cls.model_fields if name != "runtime"] + list(cls.runtime_keys())

    @model_validator(mode="before")
    @classmethod
    def _runtime_keys_into_runtime(cls, data: object) -> object:
        if not isinstance(data, Mapping) or "runtime" in data:
            return data
        keys = cls.runtime_keys()
        return {
            **{key: value for key, value in data.items() if key not in keys},
            "runtime": {field: data[key] for key, field in keys.items() if key in data},
        }

    @model_validator(mode="after")
    def _settings_agree(self) -> DeploymentSettings:
        for name in self.model_memory_mb:
            if name not in self.models:
                close = difflib.get_close_matches(name, self.models, n=1)
                hint = f"did you mean {close[0]}?" if close else "deployed: " + ", ".join(self.models)
                raise ValueError(f"model_memory_mb names {name}, which is not in models ({hint})")
        # Lambda refuses SnapStart together with either (docs/deploy.md).
        if self.snapstart and self.provisioned_concurrency:
            raise ValueError(
                f"snapstart=true with provisioned_concurrency={self.provisioned_concurrency} is not allowed: "
                "Lambda does not support SnapStart with provisioned concurrency (set one of them to false/0)"
            )
        if self.snapstart and self.ephemeral_storage_mb > 512:
            raise ValueError(
                f"snapstart=true with ephemeral_storage_mb={self.ephemeral_storage_mb} is not allowed: "
                "Lambda supports SnapStart only with 512 MB of ephemeral storage"
            )
        return self

    def memory_mb_of(self, model: str) -> int:
        """The memory of the function serving `model`: its own override, else memory_mb."""
        return self.model_memory_mb.get(model, self.memory_mb)

    def function_settings(self, model: str, model_dir: Path) -> Settings:
        """The settings of the function serving `model` from `model_dir`, as its runtime reads them."""
        return self.runtime.model_copy(
            update={
                "model_dir": model_dir,
                # The package's folder name, its route's: the image's folder is always the same.
                "model_name": model,
                "service_name": model,
                "lambda_memory_mb": self.memory_mb_of(model),
            }
        )

    def shared_environment(self) -> dict[str, str]:
        """The variables of the runtime's settings every function shares (the keys cdk.json sets)."""
        runtime_fields = type(self.runtime).model_fields
        shared = {runtime_fields[name].alias or name for name in self.runtime_keys().values()}
        return {name: value for name, value in self.runtime.to_env().items() if name in shared}

    @property
    def app_id(self) -> str:
        """Names this app's staging stack, bucket and ECR repository (AppStagingSynthesizer)."""
        return self.stack_name.lower()


def read_settings(
    context: Mapping[str, Any], packages_dir: Path | None = None, model: type[DeploymentSettings] = DeploymentSettings
) -> DeploymentSettings:
    """The settings in a CDK context (cdk.json's, with `-c` applied), the packages named in `models`
    looked for in `packages_dir` (default this checkout's model_artifacts/); SettingsError, one
    line, if one is wrong. `model`: the settings' model (a test's subclass)."""
    keys = model.keys()
    for key in sorted(context):
        if key not in keys and key not in CDK_KEYS and not key.startswith(CDK_KEY_PREFIXES) and ":" not in key:
            close = difflib.get_close_matches(key, keys, n=1)
            hint = f" (did you mean {close[0]}?)" if close else " (the settings are the keys in cdk.json's context)"
            raise SettingsError(f"unknown key {key}{hint}")
    for key in keys:
        if key not in context:
            raise SettingsError(f"{key} is not set: add it to the context in cdk.json ({allowed(model, key)})")
    values = {key: value.strip() if isinstance(value, str) else value for key, value in context.items() if key in keys}
    names = {field: key for key, field in model.runtime_keys().items()}
    try:
        return model.model_validate(values, context={"names": names, "packages_dir": packages_dir})
    except ValidationError as error:
        raise SettingsError(_one_line(model, error.errors()[0], context)) from None


def allowed(model: type[DeploymentSettings], key: str) -> str:
    """What a key takes, in words: its description, else its type's and bounds'."""
    runtime_keys = model.runtime_keys()
    if key in runtime_keys:
        runtime: type[Settings] = model.model_fields["runtime"].annotation  # type: ignore[assignment]
        return _in_words(runtime.model_json_schema(by_alias=False)["properties"][runtime_keys[key]])
    return _in_words(model.model_json_schema()["properties"][key])


def _in_words(schema: Mapping[str, Any]) -> str:
    if "description" in schema:
        return str(schema["description"])
    if "enum" in schema:
        return "one of " + ", ".join(map(str, schema["enum"]))
    if schema.get("type") == "boolean":
        return "true or false"
    if schema.get("type") == "integer":
        return f"an integer in {schema['minimum']}..{schema['maximum']}"
    if schema.get("type") == "number":
        return f"a number in {schema['minimum']:g}..{schema['maximum']:g}"
    raise TypeError(f"no words for {schema}: give the field a description")


def _one_line(model: type[DeploymentSettings], error: ErrorDetails, context: Mapping[str, Any]) -> str:
    """`key=value is not allowed: <why>`, or a rule's own message, which names its keys."""
    location = list(error["loc"])
    if location[:1] == ["runtime"]:
        location = location[1:]
        if location:
            location[0] = KEY_OF_FIELD.get(str(location[0]), str(location[0]))
    reason = str(error["ctx"]["error"]) if error["type"] == "value_error" else None
    if not location:  # a rule across settings
        return reason or error["msg"]
    key = str(location[0])
    if reason is None and len(location) > 1:  # one entry of a key's pairs
        entries = model.model_json_schema()["properties"][key]["additionalProperties"]
        reason = f"{location[1]}={error['input']}: expected {_in_words(entries)}"
    return f"{key}={context[key]} is not allowed: {reason or 'expected ' + allowed(model, key)}"


def cdk_args_context(cdk_args: str) -> dict[str, str]:
    """The `-c key=value` (or `--context key=value`) options among cdk's arguments, as cdk reads
    them: split at the first '=', the value a string; a later one wins."""
    words = shlex.split(cdk_args)
    context: dict[str, str] = {}
    for option, value in pairwise([*words, ""]):
        if option.startswith("--context="):
            value, option = option.removeprefix("--context="), "--context"
        if option in CONTEXT_OPTIONS and "=" in value:
            key, setting = value.split("=", 1)
            context[key] = setting
    return context


def deployment_context(repo: Path = REPO, cdk_args: str | None = None) -> dict[str, Any]:
    """cdk.json's context with CDK_ARGS' `-c` options applied (`cdk_args`, default the CDK_ARGS
    environment variable, which `make deploy|cost|serve` pass on): what `npx cdk ... $(CDK_ARGS)`
    gives the app."""
    context = json.loads((repo / "cdk.json").read_text(encoding="utf-8")).get("context", {})
    args = os.environ.get("CDK_ARGS", "") if cdk_args is None else cdk_args
    return {**context, **cdk_args_context(args)}


def load_settings(repo: Path = REPO, cdk_args: str | None = None) -> DeploymentSettings:
    """The settings `make deploy` would deploy, read without CDK (preflight, `make cost`, the local server)."""
    return read_settings(deployment_context(repo, cdk_args), repo / "model_artifacts")
