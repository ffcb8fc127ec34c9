"""tools/idle_cost.py: the monthly idle cost, computed from the real synthesized app and the
real handler timed in a fresh process."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.infrastructure.synth import synthesize_app
from tools.idle_cost import (
    ALARM_MONTH,
    DASHBOARD_MONTH,
    KMS_KEY_MONTH,
    LAMBDA_GB_SECOND,
    PROVISIONED_GB_SECOND,
    SNAPSHOT_CACHE_GB_SECOND,
    SNAPSHOT_RESTORE_GB,
    STACK_ARTIFACT,
    STAGING_PREFIX,
    App,
    HandlerTiming,
    idle_costs,
    main,
    measure_handler,
    table,
)

# Explicit timings, so the arithmetic below is checked against numbers the test chose.
TIMING = HandlerTiming(init_seconds=3.0, warmup_ms=1.4, warmup_log_bytes=250.0)
MODEL_GB = 0.1
WARMUP_ITEMS = [
    "Lambda requests (warm-up)",
    "Lambda duration (warm-up)",
    "Lambda init after recycling",
    "CloudWatch Logs (warm-up)",
    "Custom metrics (WarmUps, ColdStart)",
]


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app synthesized with an alarm email: the default resources plus the topic's KMS key."""
    return synthesize_app("alarm_email", tmp_path_factory.mktemp("cdk.out-alarm-email")).directory


@pytest.fixture(scope="module")
def app(assembly: Path) -> App:
    return App.from_assembly(assembly)


def costs_of(app: App) -> list:
    """Its costs, every model timed and sized alike."""
    return idle_costs(app, dict.fromkeys(app.models, TIMING), 5, dict.fromkeys(app.models, MODEL_GB))


def by_item(app: App) -> dict[str, tuple[float, float]]:
    return {cost.item: (cost.usd, cost.usd_without_warmup) for cost in costs_of(app)}


def test_it_says_which_configuration_it_priced_as_the_templates_say_it(app: App, tmp_path: Path) -> None:
    assert app.describe(5) == (
        "Priced: transaction-classifier 2048 MB x86_64; warm-up every 5 min, torch fp32, dashboard"
    )
    # Not cdk.json's values: a synth with other options is priced as synthesized.
    other = App.from_assembly(synthesize_app("multi_model", tmp_path / "cdk.out").directory)
    assert other.describe(5).startswith(
        "Priced: transaction-classifier 2048 MB x86_64, embeddings 1024 MB x86_64, merchant-normalizer 2048 MB x86_64, "
        "digits 512 MB x86_64;"
    )
    onnx = App.from_assembly(synthesize_app("onnx", tmp_path / "cdk.out-onnx").directory)
    assert onnx.serving == ("onnx", "fp32") and "onnx fp32" in onnx.describe(5)


def test_the_app_is_read_from_both_stacks_of_the_assembly(app: App) -> None:
    assert (app.function["MemorySize"], app.function["Architectures"]) == (2048, ["x86_64"])
    assert app.warmup == (5, {"warmup": True})
    assert app.images_kept == 5  # the staging stack's ECR lifecycle rule
    assert app.provisioned_concurrency == 0


def test_fixed_costs_count_the_synthesized_alarms_dashboard_and_key(app: App) -> None:
    costs = by_item(app)
    alarms = len(app.of_type("AWS::CloudWatch::Alarm"))
    assert alarms == 5  # the function's 2, the API's 2, the bulk job's 1
    assert costs["CloudWatch alarms"] == (alarms * ALARM_MONTH, alarms * ALARM_MONTH)
    assert costs["CloudWatch dashboard"] == (DASHBOARD_MONTH, DASHBOARD_MONTH)
    assert costs["KMS key (alarm topic)"] == (KMS_KEY_MONTH, KMS_KEY_MONTH)


def test_warmup_costs_follow_the_rule_and_vanish_without_it(app: App) -> None:
    costs = by_item(app)
    pings = 730 * 60 / 5
    # 1.4 ms is billed as 2 ms, at 2 GB.
    assert costs["Lambda duration (warm-up)"][0] == pytest.approx(pings * 0.002 * 2 * LAMBDA_GB_SECOND["x86_64"])
    assert costs["Lambda requests (warm-up)"][0] == pytest.approx(pings * 0.20 / 1e6)
    for item in WARMUP_ITEMS:
        with_warmup, without_warmup = costs[item]
        assert with_warmup > 0 and without_warmup == 0, item


def test_provisioned_concurrency_is_billed_around_the_clock(app: App) -> None:
    concurrency = {"ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 2}}
    alias = {"Type": "AWS::Lambda::Alias", "Properties": concurrency}
    costs = by_item(App([*app.resources, alias]))
    expected = 2 * 2 * 730 * 3600 * PROVISIONED_GB_SECOND["x86_64"]
    assert costs["Provisioned concurrency"] == pytest.approx((expected, expected))


def test_snapstart_bills_its_snapshot_around_the_clock_and_restores_instead_of_inits(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    snapstart = App.from_assembly(synthesize_app("snapstart", tmp_path_factory.mktemp("cdk.out-snapstart")).directory)
    assert snapstart.snapstart
    costs = by_item(snapstart)
    cache = 2 * 730 * 3600 * SNAPSHOT_CACHE_GB_SECOND
    assert costs["SnapStart snapshot cache"] == pytest.approx((cache, cache))
    restores = 12 * 730 / 24 * 2 * SNAPSHOT_RESTORE_GB
    assert costs["SnapStart restores after recycling"] == pytest.approx((restores, 0))
    assert "Lambda init after recycling" not in costs


def test_snapstart_is_off_in_the_default_app(app: App) -> None:
    assert not app.snapstart
    assert "SnapStart snapshot cache" not in by_item(app)


def test_several_models_are_priced_each_with_its_memory_function_and_image(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    several = App.from_assembly(synthesize_app("multi_model", tmp_path_factory.mktemp("cdk.out-multi-model")).directory)
    assert {name: function["MemorySize"] for name, function in several.models.items()} == {
        "transaction-classifier": 2048,
        "embeddings": 1024,
        "merchant-normalizer": 2048,
        "digits": 512,
    }
    costs, one = (
        by_item(several),
        by_item(App.from_assembly(synthesize_app("default", tmp_path_factory.mktemp("cdk.out-one")).directory)),
    )
    pings = 730 * 60 / 5
    for name, memory_gb in (
        ("transaction-classifier", 2),
        ("embeddings", 1),
        ("merchant-normalizer", 2),
        ("digits", 0.5),
    ):
        duration = costs[f"Lambda duration (warm-up) ({name})"][0]
        assert duration == pytest.approx(pings * 0.002 * memory_gb * LAMBDA_GB_SECOND["x86_64"])
        assert f"Lambda init after recycling ({name})" in costs
    assert costs["Lambda requests (warm-up)"][0] == pytest.approx(4 * one["Lambda requests (warm-up)"][0])
    assert costs["ECR image storage"][0] == pytest.approx(4 * one["ECR image storage"][0])
    # Each model beyond the first adds its function's error and throttle alarms.
    assert costs["CloudWatch alarms"][0] == pytest.approx(one["CloudWatch alarms"][0] + 3 * 2 * ALARM_MONTH)


@pytest.mark.slow
def test_the_real_handler_is_timed_through_its_import_and_warmups() -> None:
    timing = measure_handler({"warmup": True}, samples=20)
    # The import loads torch and the model; a warm-up writes its WarmUps metric line.
    assert timing.init_seconds > timing.warmup_ms / 1000 > 0
    assert timing.warmup_log_bytes > len('{"WarmUps":[1.0]}')


@pytest.mark.slow
def test_the_cli_prints_the_table_with_both_columns_and_totals(assembly: Path, capsys) -> None:
    assert main(["--assembly", str(assembly)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Priced: transaction-classifier 2048 MB x86_64;") and lines[1] == ""
    assert lines[2] == "| item | computed from | warm-up on (every 5 min) | warm-up off |"
    total = next(line for line in lines if line.startswith("| **total per month**"))
    on, off = (float(cell.strip(" *$")) for cell in total.split("|")[3:5])
    assert on > off > 0


def test_without_synthesized_templates_it_says_to_synthesize_first(tmp_path: Path, capsys) -> None:
    assert main(["--assembly", str(tmp_path)]) == 2
    assert (
        capsys.readouterr().err == f"no synthesized templates in {tmp_path}: run `make cost`, which synthesizes first\n"
    )


def test_the_settings_are_read_with_the_cdk_args_make_cost_synthesized_with(
    assembly: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The warm-up rate of a synth without the rule is the settings': cdk.json's, with CDK_ARGS applied.
    monkeypatch.setenv("CDK_ARGS", "-c warmup_enabled=false -c warmup_rate_minutes=0")
    assert main(["--assembly", str(assembly)]) == 2
    assert capsys.readouterr().err == (
        "Invalid configuration: warmup_rate_minutes=0 is not allowed: expected an integer in 1..1440\n"
    )


def test_the_help_says_the_whole_first_sentence(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "while nobody calls it, with the warm-up on and off, as a Markdown table." in " ".join(
        capsys.readouterr().out.split()
    )


def copy_assembly(assembly: Path, to: Path) -> Path:
    """What from_assembly reads: manifest.json and the templates (not the image's build context)."""
    to.mkdir()
    for path in [assembly / "manifest.json", *assembly.glob("*.template.json")]:
        shutil.copy(path, to)
    return to


def test_a_stale_app_left_in_the_directory_is_not_read(assembly: Path, app: App, tmp_path: Path) -> None:
    # What an earlier `cdk synth -c stack_name=StaleApi` leaves in cdk.out: its two stacks'
    # templates, no longer listed in manifest.json (CDK never cleans the directory).
    stale = copy_assembly(assembly, tmp_path / "cdk.out")
    for path in list(stale.glob("*.template.json")):
        name = path.name.replace("PytorchInferenceApi", "StaleApi").replace("pytorchinferenceapi", "staleapi")
        assert name != path.name
        (stale / name).write_text(path.read_text())
    assert len(list(stale.glob("*.template.json"))) == 4

    assert table(costs_of(App.from_assembly(stale)), 5) == table(costs_of(app), 5)


def _app_stack(manifest: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (stack,) = [
        (name, artifact)
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == STACK_ARTIFACT and not name.startswith(STAGING_PREFIX)
    ]
    return stack


def _edit_json(path: Path, edit: Callable[[Any], None]) -> None:
    body = json.loads(path.read_text())
    edit(body)
    path.write_text(json.dumps(body))


def _second_app_stack(assembly: Path) -> None:
    def add(manifest: dict[str, Any]) -> None:
        name, artifact = _app_stack(manifest)
        manifest["artifacts"]["OtherApi"] = {
            **artifact,
            "properties": {**artifact["properties"], "stackName": "OtherApi"},
        }

    _edit_json(assembly / "manifest.json", add)


def _missing_app_template(assembly: Path) -> None:
    name, artifact = _app_stack(json.loads((assembly / "manifest.json").read_text()))
    (assembly / artifact["properties"]["templateFile"]).unlink()


def _no_stacks(assembly: Path) -> None:
    _edit_json(assembly / "manifest.json", lambda manifest: manifest.update(artifacts={}))


def _app_template(assembly: Path) -> Path:
    name, artifact = _app_stack(json.loads((assembly / "manifest.json").read_text()))
    return assembly / artifact["properties"]["templateFile"]


def _two_warmup_rules(assembly: Path) -> None:
    def duplicate(template: dict[str, Any]) -> None:
        resources = template["Resources"]
        (rule,) = [key for key, resource in resources.items() if resource["Type"] == "AWS::Events::Rule"]
        resources[rule + "Copy"] = resources[rule]

    _edit_json(_app_template(assembly), duplicate)


def _no_function(assembly: Path) -> None:
    def remove(template: dict[str, Any]) -> None:
        template["Resources"] = {
            key: resource
            for key, resource in template["Resources"].items()
            if resource["Type"] != "AWS::Lambda::Function"
        }

    _edit_json(_app_template(assembly), remove)


def _no_lifecycle_rule(assembly: Path) -> None:
    for path in assembly.glob("StagingStack-*.template.json"):

        def remove(template: dict[str, Any]) -> None:
            for resource in template["Resources"].values():
                if resource["Type"] == "AWS::ECR::Repository":
                    resource["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"] = json.dumps({"rules": []})

        _edit_json(path, remove)


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (_second_app_stack, "expected one app stack besides the staging stack, found 2: OtherApi, PytorchInferenceApi"),
        (
            _missing_app_template,
            "the template of stack PytorchInferenceApi (PytorchInferenceApi.template.json) is missing",
        ),
        (_no_stacks, "manifest.json lists no CloudFormation stack: run `make synth` again"),
        (_two_warmup_rules, "expected a warm-up rule (AWS::Events::Rule) per model function (1), found 2"),
        (_no_function, "expected an image-based Lambda function per model, found 0"),
        (_no_lifecycle_rule, "expected one lifecycle rule on the ECR repository, found 0"),
    ],
)
def test_an_assembly_of_another_shape_stops_with_one_line(
    assembly: Path, tmp_path: Path, capsys, break_it: Callable[[Path], None], message: str
) -> None:
    broken = copy_assembly(assembly, tmp_path / "cdk.out")
    break_it(broken)
    assert main(["--assembly", str(broken)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"{broken}: {message}")
    assert captured.err.count("\n") == 1
