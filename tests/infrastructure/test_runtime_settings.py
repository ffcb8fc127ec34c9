"""The stack and the runtime agree, for every variant: the environment the synthesized stack gives
the function, read through the runtime's own Settings (lambda_image/inference/settings.py),
reproduces the configuration, sets every setting, and holds nothing the runtime ignores but
the few variables libraries read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from pydantic import Field

from deployment.settings import DeploymentSettings, SettingsError, read_settings
from inference.settings import METRICS_NAMESPACE, Settings, WholeNumber
from infra.constructs.model_function import LIBRARY_ENVIRONMENT, MODEL_DIR, ModelFunction
from tests.infrastructure.synth import CDK_CONTEXT, TEST_CONTEXT, UNSTAGED, VARIANTS, SynthesizedApp
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
def config(variant: str) -> DeploymentSettings:
    return read_settings(cdk.App(context={**CDK_CONTEXT, **VARIANTS[variant], **TEST_CONTEXT}).node.get_all_context())


def test_each_model_of_the_configuration_has_a_function(functions: dict[str, Any], config: DeploymentSettings) -> None:
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
    functions: dict[str, Any], config: DeploymentSettings
) -> None:
    for name, function in functions.items():
        variables = function["Environment"]["Variables"]
        settings = Settings.from_env({**variables, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function["MemorySize"])})
        assert settings.model_dump() == expected_settings(config, name)


def expected_settings(config: DeploymentSettings, name: str) -> dict[str, Any]:
    """The deployment's runtime settings, with what is each function's own."""
    return {
        **config.runtime.model_dump(),
        "model_dir": Path(MODEL_DIR),
        "model_name": name,
        "lambda_memory_mb": config.memory_mb_of(name),
        "service_name": name,
        "metrics_namespace": METRICS_NAMESPACE,
    }


class RuntimeWithWidgets(Settings):
    """The runtime with one setting more, as a change adding one would give it."""

    max_widgets: WholeNumber = Field(4, ge=1, le=10, alias="MAX_WIDGETS")


class DeploymentWithWidgets(DeploymentSettings):
    runtime: RuntimeWithWidgets


def test_a_setting_added_to_the_runtime_is_a_cdk_json_key_that_reaches_the_function_and_the_runtime(tmp_path) -> None:
    context = {**CDK_CONTEXT, **TEST_CONTEXT, **UNSTAGED, "max_widgets": "7"}
    config = read_settings(context, model=DeploymentWithWidgets)
    stack = cdk.Stack(cdk.App(context=context, outdir=str(tmp_path)), "Widgets")
    ModelFunction(stack, "Model", config=config, package="transaction-classifier")

    (function,) = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["MAX_WIDGETS"] == "7"
    assert RuntimeWithWidgets.from_env(variables).max_widgets == 7
    # Its bounds are checked where it is read from cdk.json or -c, in the same one line.
    with pytest.raises(SettingsError, match=r"^max_widgets=11 is not allowed: expected an integer in 1\.\.10$"):
        read_settings({**context, "max_widgets": "11"}, model=DeploymentWithWidgets)
    with pytest.raises(SettingsError, match=r"^max_widgets is not set: add it to the context in cdk.json"):
        read_settings(CDK_CONTEXT, model=DeploymentWithWidgets)
