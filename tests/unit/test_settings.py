"""Runtime settings from environment variables."""

import os

import pytest
from pydantic import ValidationError

from inference.settings import REPO_MODEL_DIR, RESERVED_PREFIXES, Settings


def test_defaults_match_the_contract():
    settings = Settings.from_env({})
    assert settings.model_dir == REPO_MODEL_DIR
    assert (settings.max_text_chars, settings.max_batch, settings.max_body_bytes) == (1000, 64, 262144)
    assert settings.default_top_k == 3
    assert settings.default_min_score == 0
    assert (settings.model_variant, settings.model_backend) == ("fp32", "torch")
    # The service defaults to the route name (the package folder's): the stack sets the package's name.
    assert (settings.service_name, settings.route_name, settings.metrics_namespace) == (
        None,
        "transaction-classifier",
        "PytorchLambdaApi",
    )


def test_env_vars_override_the_defaults():
    settings = Settings.from_env({"MODEL_DIR": "/opt/ml/model", "MAX_BATCH": "8", "MAX_TEXT_CHARS": "50"})
    assert (str(settings.model_dir), settings.max_batch, settings.max_text_chars) == ("/opt/ml/model", 8, 50)
    assert Settings.from_env({"DEFAULT_MIN_SCORE": "0.85"}).default_min_score == 0.85


@pytest.mark.parametrize(("memory_mb", "threads"), [(128, 1), (1769, 1), (2048, 1), (3538, 2), (10240, 5)])
def test_torch_threads_follow_the_functions_memory(memory_mb, threads):
    settings = Settings.from_env({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb)})
    assert settings.resolved_torch_threads == threads


def test_explicit_torch_threads_win_over_memory():
    settings = Settings.from_env({"TORCH_THREADS": "3", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048"})
    assert settings.resolved_torch_threads == 3


def test_outside_lambda_torch_uses_every_core():
    assert Settings.from_env({}).resolved_torch_threads == os.cpu_count()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_BATCH", "0"),
        ("MAX_TEXT_CHARS", "many"),
        ("TORCH_THREADS", "-1"),
        ("MODEL_VARIANT", "int4"),
        ("MODEL_BACKEND", "tensorflow"),
        ("DEFAULT_MIN_SCORE", "1.5"),
        ("DEFAULT_MIN_SCORE", "-1"),
        ("DEFAULT_MIN_SCORE", "nan"),
        # Lambda's bounds, the same as the deployment's (deployment/settings.py embeds these fields).
        ("MAX_BATCH", "1025"),
        ("TORCH_THREADS", "7"),
        ("MAX_BODY_BYTES", "6291457"),
        ("MAX_IMAGE_PIXELS", "89478486"),
        ("CORS_ALLOW_ORIGINS", "ftp://files.example.com"),
    ],
)
def test_a_bad_value_names_the_variable(name, value):
    with pytest.raises(ValidationError, match=name):
        Settings.from_env({name: value})


def test_the_onnx_backend_serves_fp32_only():
    assert Settings.from_env({"MODEL_BACKEND": "onnx"}).model_backend == "onnx"
    with pytest.raises(
        ValidationError,
        match="MODEL_BACKEND=onnx with MODEL_VARIANT=int8 is not allowed: the onnx backend serves fp32 only",
    ):
        Settings.from_env({"MODEL_BACKEND": "onnx", "MODEL_VARIANT": "int8"})


def test_a_bool_is_not_a_number():
    with pytest.raises(ValidationError, match="MAX_BATCH"):
        Settings(MAX_BATCH=True)


def test_the_environment_of_the_settings_reads_back_as_the_same_settings():
    settings = Settings.from_env(
        {
            "MODEL_DIR": "/opt/ml/model",
            "MODEL_NAME": "embeddings",
            "MAX_BATCH": "8",
            "DEFAULT_MIN_SCORE": "0.85",
            "CORS_ALLOW_ORIGINS": "https://a.example.com,https://b.example.com",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048",
        }
    )
    environment = settings.to_env()
    # Lambda sets the memory's variable from the function's configuration, never the stack.
    assert "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" not in environment
    assert environment["CORS_ALLOW_ORIGINS"] == "https://a.example.com,https://b.example.com"
    assert Settings.from_env({**environment, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048"}) == settings


def test_settings_are_frozen():
    with pytest.raises(ValidationError):
        Settings.from_env({}).max_batch = 1


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("MODEL_VARIENT", "did you mean MODEL_VARIANT?"),
        ("MAX_TEXTS", "did you mean MAX_TEXT_CHARS?"),
        ("CORS_ORIGINS", "did you mean CORS_ALLOW_ORIGINS?"),
        ("CORS_MAX_AGE", "the runtime's variables: "),
    ],
)
def test_an_unknown_variable_with_the_runtimes_prefix_is_refused(name, hint):
    with pytest.raises(ValidationError, match=f"{name} is not a setting of the runtime \\({hint}"):
        Settings.from_env({name: "1"})


def test_variables_of_lambda_powertools_and_torch_are_not_the_runtimes_to_refuse():
    foreign = {
        "AWS_LAMBDA_FUNCTION_NAME": "f",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "TORCH_HOME": "/tmp/torch",
        "LOG_LEVEL": "INFO",
    }
    assert Settings.from_env(foreign).max_batch == 64


def test_each_own_variable_but_torch_threads_has_a_reserved_prefix():
    own = {field.alias for field in Settings.model_fields.values()}
    assert {name for name in own if not name.startswith(RESERVED_PREFIXES)} == {
        "TORCH_THREADS",  # torch owns TORCH_
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",  # Lambda's
        "POWERTOOLS_SERVICE_NAME",  # Powertools'
        "POWERTOOLS_METRICS_NAMESPACE",
    }
