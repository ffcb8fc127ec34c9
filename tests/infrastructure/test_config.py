"""deployment/settings.py read as synth reads it: cdk.json defaults, `-c` strings, and the one-line
error for a bad value; infra/config.py's CDK types for its choices."""

from __future__ import annotations

import subprocess
from typing import get_args

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from pydantic import ValidationError

from app import build_app
from deployment.catalog import available_packages
from deployment.settings import (
    DeploymentSettings,
    RetentionDays,
    SettingsError,
    cdk_args_context,
    load_settings,
    read_settings,
)
from inference.settings import Settings
from infra.config import ARCHITECTURES, LOG_RETENTION, architecture, log_retention
from tests.infrastructure.synth import CDK_CONTEXT, REPO_ROOT


def config_from(**overrides: object) -> DeploymentSettings:
    return read_settings({**CDK_CONTEXT, **overrides})


def test_cdk_json_sets_every_config_key() -> None:
    keys = set(DeploymentSettings.keys())
    assert {key for key in CDK_CONTEXT if not key.startswith("@")} == keys


def test_the_functions_settings_are_the_runtimes_own_fields_not_copies_of_them() -> None:
    # Each of the runtime's settings is a field of Settings alone, with its bounds there.
    assert not set(DeploymentSettings.model_fields) & set(Settings.model_fields)
    assert set(DeploymentSettings.runtime_keys().values()) == {
        "max_text_chars",
        "max_batch",
        "max_body_bytes",
        "max_image_pixels",
        "default_top_k",
        "default_min_score",
        "torch_threads",
        "model_variant",
        "model_backend",
        "cors_allow_origins",
    }
    assert DeploymentSettings.runtime_keys()["backend"] == "model_backend"  # cdk.json's name for it


@pytest.mark.parametrize(
    ("key", "variable", "value"), [("max_batch", "MAX_BATCH", "1025"), ("torch_threads", "TORCH_THREADS", "7")]
)
def test_a_bound_is_the_same_in_cdk_json_and_in_the_functions_environment(key: str, variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{key}={value} is not allowed: expected an integer in "):
        config_from(**{key: value})
    with pytest.raises(ValidationError, match=variable):
        Settings.from_env({variable: value})


def test_the_cdk_types_cover_every_choice_of_the_settings() -> None:
    assert set(LOG_RETENTION) == set(get_args(RetentionDays))
    assert set(ARCHITECTURES) == set(get_args(DeploymentSettings.model_fields["architecture"].annotation))


def test_the_cdk_args_make_passes_are_read_as_cdk_reads_its_context_options() -> None:
    assert cdk_args_context("") == {}
    assert cdk_args_context(
        "--profile ops -c memory_mb=3008 --context 'alarm_email=ops@example.com' --context=backend=onnx "
        '-c "cors_allow_origins=https://a.example.com, https://b.example.com" -c memory_mb=4096 -c models'
    ) == {
        "memory_mb": "4096",  # the later one
        "alarm_email": "ops@example.com",
        "backend": "onnx",
        "cors_allow_origins": "https://a.example.com, https://b.example.com",
    }


def test_tools_read_cdk_json_with_the_cdk_args_applied_as_synth_does() -> None:
    cdk_args = "-c memory_mb=3008 -c backend=onnx"
    settings = load_settings(cdk_args=cdk_args)
    assert (settings.memory_mb, settings.runtime.model_backend) == (3008, "onnx")
    assert settings == read_settings({**CDK_CONTEXT, **cdk_args_context(cdk_args)})
    with pytest.raises(SettingsError, match="^memory_mb=1 is not allowed"):
        load_settings(cdk_args="-c memory_mb=1")


def test_cdk_json_defaults_are_the_documented_ones() -> None:
    config = config_from()
    assert config.stack_name == "PytorchInferenceApi"
    assert (config.models, config.model_memory_mb) == (("transaction-classifier",), {})
    runtime = config.runtime
    assert (config.memory_mb, config.timeout_seconds, runtime.torch_threads) == (2048, 28, 0)
    assert (runtime.model_variant, runtime.model_backend) == ("fp32", "torch")
    assert architecture(config).name == lambda_.Architecture.X86_64.name
    assert (runtime.max_text_chars, runtime.max_batch, runtime.max_body_bytes, runtime.default_top_k) == (
        1000,
        64,
        262144,
        3,
    )
    assert runtime.default_min_score == 0
    assert (config.warmup_enabled, config.warmup_rate_minutes) == (True, 5)
    assert (config.throttle_rate_limit, config.throttle_burst_limit) == (50, 100)
    assert (config.api_key_required, config.iam_auth, runtime.cors_allow_origins) == (False, False, ())
    assert (config.provisioned_concurrency, config.image_keep_last) == (0, 5)
    assert log_retention(config) == logs.RetentionDays.ONE_MONTH
    assert (config.snapstart, config.ephemeral_storage_mb, config.xray_tracing, config.api_access_logs) == (
        False,
        512,
        False,
        True,
    )
    assert (config.bulk_enabled, config.bulk_bucket_name) == (True, "")
    assert (config.bulk_max_concurrency, config.bulk_tolerated_failure_percentage, config.bulk_results_expire_days) == (
        10,
        1,
        30,
    )


def test_command_line_strings_are_parsed_to_typed_values() -> None:
    config = config_from(
        stack_name="Classifier-Eu-2",
        memory_mb="3008",
        architecture="arm64",
        warmup_enabled="FALSE",
        iam_auth="true",
        cors_allow_origins=" https://a.example.com , https://b.example.com:8443 ",
        log_retention_days="7",
        model_variant="int8",
        default_min_score=" 0.9 ",
    )
    assert config.app_id == "classifier-eu-2"
    assert config.memory_mb == 3008
    assert architecture(config).name == "arm64"
    assert config.warmup_enabled is False
    assert config.iam_auth is True
    assert config.runtime.cors_allow_origins == ("https://a.example.com", "https://b.example.com:8443")
    assert log_retention(config) == logs.RetentionDays.ONE_WEEK
    assert config.runtime.model_variant == "int8"
    assert config.runtime.default_min_score == 0.9


def test_the_onnx_backend_serves_fp32_only() -> None:
    assert config_from(backend="onnx").runtime.model_backend == "onnx"
    with pytest.raises(SettingsError) as raised:
        config_from(backend="onnx", model_variant="int8")
    assert str(raised.value) == "backend=onnx with model_variant=int8 is not allowed: the onnx backend serves fp32 only"


def test_alarm_email_is_off_by_default_and_takes_one_address() -> None:
    assert config_from().alarm_email == ""
    assert (
        config_from(alarm_email="ops.team+alarms@mail.example.co.uk").alarm_email
        == "ops.team+alarms@mail.example.co.uk"
    )


def test_alarm_topic_arn_is_off_by_default_and_takes_a_topic_arn_in_any_partition() -> None:
    assert config_from().alarm_topic_arn == ""
    for arn in ("arn:aws:sns:eu-west-1:123456789012:ops_alarms-1", "arn:aws-us-gov:sns:us-gov-west-1:123456789012:a"):
        assert config_from(alarm_topic_arn=arn).alarm_topic_arn == arn


def test_config_is_frozen() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        config_from().memory_mb = 1  # type: ignore[misc]  # assigning to the frozen field is the test
    with pytest.raises(ValidationError, match="frozen"):
        config_from().runtime.max_batch = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("memory_mb", "12", "an integer in 512..10240"),
        ("memory_mb", "2GB", "an integer in 512..10240"),
        ("memory_mb", True, "an integer in 512..10240"),
        ("architecture", "sparc", "one of x86_64, arm64"),
        ("timeout_seconds", "29", "an integer in 1..28"),
        ("model_variant", "int4", "one of fp32, int8"),
        ("backend", "tensorrt", "one of torch, onnx"),
        ("default_min_score", "1.5", "a number in 0..1"),
        ("default_min_score", "-0.1", "a number in 0..1"),
        ("default_min_score", "nan", "a number in 0..1"),
        ("default_min_score", True, "a number in 0..1"),
        ("warmup_enabled", "yes", "true or false"),
        ("log_retention_days", "31", "one of 1, 3, 5, 7, 14, 30,"),
        ("log_retention_days", True, "one of 1, 3, 5, 7, 14, 30,"),
        ("max_batch", "1025", "an integer in 1..1024"),
        ("torch_threads", "7", "an integer in 0..6"),
        ("max_image_pixels", "89478486", "an integer in 1..89478485"),
        ("max_body_bytes", "6291457", "an integer in 1..6291456"),
        ("cors_allow_origins", "ftp://files.example.com", "comma-separated origins"),
        ("stack_name", "my_stack", "hyphen-separated words starting with a letter"),
        ("stack_name", "api-", "hyphen-separated words starting with a letter"),
        ("stack_name", "A" * 21, "at most 20 characters"),
        ("provisioned_concurrency", "-1", "an integer in 0..1000"),
        ("snapstart", "on", "true or false"),
        ("ephemeral_storage_mb", "256", "an integer in 512..10240"),
        ("xray_tracing", "1", "true or false"),
        ("api_access_logs", "maybe", "true or false"),
        # Throttling cannot be switched off.
        ("throttle_rate_limit", "0", "an integer in 1..10000"),
        ("throttle_burst_limit", "0", "an integer in 1..5000"),
        ("alarm_email", "ops@", "an email address like ops@example.com, or empty"),
        ("alarm_email", "ops@example.com,dev@example.com", "an email address like ops@example.com, or empty"),
        ("alarm_topic_arn", "ops-alarms", "an SNS topic ARN like arn:aws:sns:us-east-1:123456789012:alarms, or empty"),
        ("alarm_topic_arn", "arn:aws:sns:us-east-1:123456789012:alarms.fifo", "an SNS topic ARN like"),
        ("bulk_enabled", "on", "true or false"),
        ("bulk_bucket_name", "s3://statements", "an existing S3 bucket's name, or empty"),
        ("bulk_bucket_name", "Statements", "an existing S3 bucket's name, or empty"),
        ("bulk_max_concurrency", "0", "an integer in 1..1000"),
        ("bulk_tolerated_failure_percentage", "101", "an integer in 0..100"),
        ("bulk_results_expire_days", "0", "an integer in 1..3650"),
    ],
)
def test_a_bad_value_names_the_key_and_the_allowed_values(key: str, value: object, allowed: str) -> None:
    with pytest.raises(SettingsError) as raised:
        config_from(**{key: value})
    message = str(raised.value)
    assert message.startswith(f"{key}={value} is not allowed: expected ")
    assert allowed in message
    assert "\n" not in message


def test_models_are_package_folders_in_order_each_with_its_memory() -> None:
    config = config_from(models=" transaction-classifier , embeddings", model_memory_mb="embeddings=1024")
    assert config.models == ("transaction-classifier", "embeddings")
    assert (config.memory_mb_of("transaction-classifier"), config.memory_mb_of("embeddings")) == (2048, 1024)
    # cdk.json's spellings: a JSON list and a JSON object.
    config = config_from(models=["embeddings"], model_memory_mb={"embeddings": 512})
    assert (config.models, config.memory_mb_of("embeddings")) == (("embeddings",), 512)


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        (
            "models",
            "transaction-classifier,sentiment",
            "sentiment is not a package of model_artifacts/ (packages there: ",
        ),
        ("models", "embeddings,embeddings", "embeddings is named twice"),
        ("models", "../training", "'../training' is not a package folder name (lowercase letters and digits"),
        ("models", "Embeddings", "'Embeddings' is not a package folder name"),
        ("models", "", "no package named"),
        ("model_memory_mb", "embeddings=256", "embeddings=256: expected an integer in 512..10240"),
        (
            "model_memory_mb",
            "embeddings",
            "expected comma-separated <package>=<MB> pairs like embeddings=1024, or empty",
        ),
    ],
)
def test_a_bad_models_setting_names_the_key_the_value_and_what_is_wrong(key: str, value: str, reason: str) -> None:
    with pytest.raises(SettingsError) as raised:
        config_from(**{"models": "transaction-classifier,embeddings", key: value})
    message = str(raised.value)
    assert message.startswith(f"{key}={value} is not allowed: ")
    assert reason in message
    assert "\n" not in message


def test_an_unknown_package_is_refused_naming_the_packages_there() -> None:
    with pytest.raises(SettingsError) as raised:
        config_from(models="sentiment")
    # Every package `make model` built is named.
    assert f"(packages there: {', '.join(available_packages())})" in str(raised.value)
    demos = {"digits", "embeddings", "merchant-normalizer", "transaction-classifier", "transaction-entities"}
    assert demos <= set(available_packages())


def test_a_memory_for_a_model_not_deployed_is_refused_with_the_closest_name() -> None:
    with pytest.raises(SettingsError) as raised:
        config_from(models="transaction-classifier,embeddings", model_memory_mb="embedings=1024")
    assert str(raised.value) == "model_memory_mb names embedings, which is not in models (did you mean embeddings?)"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            {"provisioned_concurrency": "2"},
            "snapstart=true with provisioned_concurrency=2 is not allowed: Lambda does not support SnapStart with "
            "provisioned concurrency (set one of them to false/0)",
        ),
        (
            {"ephemeral_storage_mb": "1024"},
            "snapstart=true with ephemeral_storage_mb=1024 is not allowed: Lambda supports SnapStart only with "
            "512 MB of ephemeral storage",
        ),
    ],
)
def test_snapstart_is_refused_with_provisioned_concurrency_or_more_ephemeral_storage(setting, message) -> None:
    with pytest.raises(SettingsError) as raised:
        config_from(snapstart="true", **setting)
    assert str(raised.value) == message
    assert config_from(snapstart="true").snapstart is True


def test_memory_starts_at_512_mb_above_the_measured_peak() -> None:
    assert config_from(memory_mb="512").memory_mb == 512
    assert config_from(memory_mb=10240).memory_mb == 10240
    with pytest.raises(SettingsError, match=r"^memory_mb=511 is not allowed: expected an integer in 512\.\.10240$"):
        config_from(memory_mb="511")


def test_a_misspelled_key_stops_the_app_and_names_the_closest_setting() -> None:
    with pytest.raises(SettingsError) as raised:
        build_app({**CDK_CONTEXT, "memory": "3008"})
    assert str(raised.value) == "unknown key memory (did you mean memory_mb?)"


def test_an_unknown_key_without_a_close_setting_says_where_the_settings_are() -> None:
    with pytest.raises(SettingsError) as raised:
        config_from(region="eu-west-1")
    assert str(raised.value) == "unknown key region (the settings are the keys in cdk.json's context)"


def test_what_cdk_itself_puts_in_the_context_is_not_refused() -> None:
    # As `npx cdk synth|deploy` and cdk.context.json pass them (printed from a real CLI run).
    config = config_from(
        **{
            "@aws-cdk/core:failSynthOnValidationErrors": False,
            "aws:cdk:enable-path-metadata": True,
            "aws:cdk:bundling-stacks": ["**"],
            "aws-cdk:enableDiffNoFail": "true",
            "cdk-migrate": True,
            "acknowledged-issue-numbers": [34892],
            "availability-zones:account=123456789012:region=us-east-1": ["us-east-1a"],
        }
    )
    assert config.memory_mb == 2048


def test_a_missing_key_says_where_to_set_it() -> None:
    for key in ("image_keep_last", "max_batch"):
        context = {name: value for name, value in CDK_CONTEXT.items() if name != key}
        missing = rf"^{key} is not set: add it to the context in cdk.json \(an integer in "
        with pytest.raises(SettingsError, match=missing):
            read_settings(cdk.App(context=context).node.get_all_context())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("memory_mb=12", "Invalid configuration: memory_mb=12 is not allowed: expected an integer in 512..10240"),
        (
            "architecture=sparc",
            "Invalid configuration: architecture=sparc is not allowed: expected one of x86_64, arm64",
        ),
        ("memory=3008", "Invalid configuration: unknown key memory (did you mean memory_mb?)"),
        (
            "models=transaction-classifier,sentiment",
            "Invalid configuration: models=transaction-classifier,sentiment is not allowed: sentiment is not a package "
            f"of model_artifacts/ (packages there: {', '.join(available_packages())})",
        ),
        (
            "backend=onnx model_variant=int8",
            "Invalid configuration: backend=onnx with model_variant=int8 is not allowed: "
            "the onnx backend serves fp32 only",
        ),
        (
            "snapstart=true provisioned_concurrency=1",
            "Invalid configuration: snapstart=true with provisioned_concurrency=1 is not allowed: Lambda does not "
            "support SnapStart with provisioned concurrency (set one of them to false/0)",
        ),
    ],
)
def test_cdk_synth_stops_with_one_clear_line_and_no_traceback(tmp_path, option: str, message: str) -> None:
    result = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--quiet", "--output", str(tmp_path)]
        + [arg for setting in option.split() for arg in ("-c", setting)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    key = option.split("=")[0]
    assert [line for line in result.stderr.splitlines() if key in line] == [message]
    # The error is the first line, not under jsii's end-of-life banner for the Node in use.
    assert result.stderr.splitlines()[0] == message
    assert not list(tmp_path.glob("*.template.json"))
