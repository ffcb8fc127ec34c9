"""The stack and the runtime agree, for every variant: the environment the synthesized stack gives
the function, read through the runtime's own Settings (lambda_image/inference/settings.py),
reproduces the configuration, sets every setting, and holds nothing the runtime ignores but
the few variables libraries read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from inference.settings import Settings
from infra.config import InferenceConfig
from infra.constructs.model_function import LIBRARY_ENVIRONMENT, METRICS_NAMESPACE, MODEL_DIR
from tests.infrastructure.synth import CDK_CONTEXT, TEST_CONTEXT, VARIANTS, SynthesizedApp
from tests.infrastructure.test_stack import model_function_ids

# What Lambda itself sets from the function's configuration (MemorySize).
SET_BY_LAMBDA = {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE"}
OWN_VARIABLES = {field.alias for field in Settings.model_fields.values()}


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def functions(variant: str, synthesize) -> dict[str, dict[str, Any]]:
    """Each model function's properties, by the package it serves."""
    app: SynthesizedApp = synthesize(variant)
    resources = app.app_template.to_json()["Resources"]
    return {
        name: resources[function_id]["Properties"] for name, function_id in model_function_ids(app.app_template).items()
    }


@pytest.fixture(scope="module")
def config(variant: str) -> InferenceConfig:
    return InferenceConfig.from_context(cdk.App(context={**CDK_CONTEXT, **VARIANTS[variant], **TEST_CONTEXT}).node)


def test_each_model_of_the_configuration_has_a_function(functions: dict[str, Any], config: InferenceConfig) -> None:
    assert sorted(functions) == sorted(config.models)


def test_the_stack_sets_every_setting_the_runtime_has_but_what_lambda_sets(functions: dict[str, Any]) -> None:
    for function in functions.values():
        assert OWN_VARIABLES - set(function["Environment"]["Variables"]) == SET_BY_LAMBDA


def test_every_other_variable_is_one_a_library_reads(functions: dict[str, Any]) -> None:
    for function in functions.values():
        others = set(function["Environment"]["Variables"]) - OWN_VARIABLES
        assert others == set(LIBRARY_ENVIRONMENT)
        assert {name: function["Environment"]["Variables"][name] for name in others} == LIBRARY_ENVIRONMENT


def test_the_runtime_reads_the_configuration_back_from_the_environment(
    functions: dict[str, Any], config: InferenceConfig
) -> None:
    for name, function in functions.items():
        variables = function["Environment"]["Variables"]
        settings = Settings.from_env({**variables, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function["MemorySize"])})
        assert settings.model_dump() == expected_settings(config, name)


def expected_settings(config: InferenceConfig, name: str) -> dict[str, Any]:
    return {
        "model_dir": Path(MODEL_DIR),
        "model_name": name,
        "max_text_chars": config.max_text_chars,
        "max_batch": config.max_batch,
        "max_body_bytes": config.max_body_bytes,
        "max_image_pixels": config.max_image_pixels,
        "default_top_k": config.default_top_k,
        "default_min_score": config.default_min_score,
        "torch_threads": config.torch_threads,
        "model_variant": config.model_variant,
        "model_backend": config.backend,
        "lambda_memory_mb": config.memory_mb_of(name),
        "service_name": name,
        "metrics_namespace": METRICS_NAMESPACE,
        "cors_allow_origins": config.cors_allow_origins,
    }
