"""tools/idle_cost.py: the monthly idle cost, computed from the real synthesized app and the
real handler timed in a fresh process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infrastructure.synth import synthesize_app
from tools.idle_cost import (
    ALARM_MONTH,
    DASHBOARD_MONTH,
    KMS_KEY_MONTH,
    LAMBDA_GB_SECOND,
    PROVISIONED_GB_SECOND,
    App,
    HandlerTiming,
    idle_costs,
    main,
    measure_handler,
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


def by_item(app: App) -> dict[str, tuple[float, float]]:
    return {cost.item: (cost.usd, cost.usd_without_warmup) for cost in idle_costs(app, TIMING, 5, MODEL_GB)}


def test_the_app_is_read_from_both_stacks_of_the_assembly(app: App) -> None:
    assert (app.function["MemorySize"], app.function["Architectures"]) == (2048, ["x86_64"])
    assert app.warmup == (5, {"warmup": True})
    assert app.images_kept == 5  # the staging stack's ECR lifecycle rule
    assert app.provisioned_concurrency == 0


def test_fixed_costs_count_the_synthesized_alarms_dashboard_and_key(app: App) -> None:
    costs = by_item(app)
    alarms = len(app.of_type("AWS::CloudWatch::Alarm"))
    assert alarms == 4
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
    assert lines[0] == "| item | computed from | warm-up on (every 5 min) | warm-up off |"
    total = next(line for line in lines if line.startswith("| **total per month**"))
    on, off = (float(cell.strip(" *$")) for cell in total.split("|")[3:5])
    assert on > off > 0


def test_without_synthesized_templates_it_says_to_synthesize_first(tmp_path: Path, capsys) -> None:
    assert main(["--assembly", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"no synthesized templates in {tmp_path}: run `make synth` first\n"
