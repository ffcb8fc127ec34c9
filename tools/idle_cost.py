"""`python -m tools.idle_cost`: what the synthesized app costs per month while nobody calls it,
with the warm-up on and off, as a Markdown table. With several models, the rows that depend on a
model function's memory or timing come once per model.

Computed, not billed: AWS list prices (us-east-1, on demand, no free tier) applied to the
resources in the synthesized templates (`make synth` writes them to cdk.out/) and to the
warm-up handler timed here, in-process, with the real model.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import statistics
import subprocess
import sys
import time
from contextlib import redirect_stdout
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from deployment.catalog import served_packages
from deployment.settings import SettingsError, load_settings
from deployment.stacks import STAGING_STACK_PREFIX
from inference.events import WARMUP_EVENT
from inference.package import Backend, PackageError, Variant
from tools.preflight import REPO
from tools.prices import LAMBDA_GB_SECOND, LAMBDA_REQUEST, LOGS_INGESTED_GB

HOURS_PER_MONTH = 730  # AWS prices "per month" as 730 hours
MINUTES_PER = {"minute": 1, "hour": 60, "day": 1440}  # units of EventBridge's rate(...)
GB = 1024**3
PROVISIONED_GB_SECOND = {"x86_64": 0.0000041667, "arm64": 0.0000033334}
# SnapStart (Python): the cached snapshot of each published version, by the function's memory, and
# each restore of an execution environment from it.
SNAPSHOT_CACHE_GB_SECOND = 0.0000015046
SNAPSHOT_RESTORE_GB = 0.0001397998
ALARM_MONTH = 0.10  # standard resolution
DASHBOARD_MONTH = 3.00  # the first 3 dashboards of an account are free
KMS_KEY_MONTH = 1.00
CUSTOM_METRIC_MONTH = 0.30  # prorated by the hour a metric is published in
ECR_GB_MONTH = 0.10
# Lambda bills duration in whole milliseconds, at least one.
BILLED_MS_MINIMUM = 1
# Lambda's own START, END and REPORT lines of one invocation, about this many bytes together.
PLATFORM_LOG_BYTES = 350
# Lambda retires execution environments after a few hours even when they are kept busy (it does
# not say when): assume every 2 hours, each time a cold start (billed init) and a ColdStart metric.
RECYCLES_PER_DAY = 12
# The compressed image without the model: Lambda's python:3.12 base (~0.2 GB), the CPU torch
# wheel (0.19 GB) and the rest of lambda_image/requirements.txt. An estimate: no Docker here;
# `aws ecr describe-images` shows the real sizes.
IMAGE_WITHOUT_MODEL_GB = 0.45
STACK_ARTIFACT = "aws:cloudformation:stack"  # an artifact type of the assembly's manifest.json
STAGING_PREFIX = f"{STAGING_STACK_PREFIX}-"  # the staging stack's name: StagingStack-<app id>


@dataclass(frozen=True)
class HandlerTiming:
    init_seconds: float  # the handler module's import: torch, settings, model, as in a cold start
    warmup_ms: float  # median of one warm-up invocation
    warmup_log_bytes: float  # what one warm-up writes (its metric line)


class AssemblyError(ValueError):
    """The synthesized assembly is not shaped like this app's; the message is one line for the user."""


def _one(items: list[Any], what: str) -> Any:
    if len(items) != 1:
        raise AssemblyError(f"expected one {what}, found {len(items)}")
    return items[0]


@dataclass(frozen=True)
class App:
    """What of the synthesized templates costs money while idle."""

    resources: list[dict[str, Any]]

    @classmethod
    def from_assembly(cls, assembly: Path) -> App:
        """The stacks manifest.json lists, and only those: CDK never cleans its output directory, so
        templates of an earlier synth (another stack_name) stay next to the current ones."""
        try:
            manifest = json.loads((assembly / "manifest.json").read_text())
            stacks = {
                artifact.get("properties", {}).get("stackName", name): artifact["properties"]["templateFile"]
                for name, artifact in manifest.get("artifacts", {}).items()
                if artifact.get("type") == STACK_ARTIFACT
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            reason = type(error).__name__
            raise AssemblyError(f"manifest.json cannot be read ({reason}): run `make synth` again") from None
        if not stacks:
            raise AssemblyError("manifest.json lists no CloudFormation stack: run `make synth` again")
        app_stacks = sorted(name for name in stacks if not name.startswith(STAGING_PREFIX))
        if len(app_stacks) != 1:
            found = f"{len(app_stacks)}: {', '.join(app_stacks)}" if app_stacks else "0"
            raise AssemblyError(f"expected one app stack besides the staging stack, found {found}")
        templates = []
        for name, template_file in sorted(stacks.items()):
            try:
                templates.append(json.loads((assembly / template_file).read_text()))
            except (OSError, ValueError):
                raise AssemblyError(f"the template of stack {name} ({template_file}) is missing or not JSON") from None
        app = cls([resource for template in templates for resource in template.get("Resources", {}).values()])
        # Every shape check now, in one line, rather than a traceback halfway through the table.
        _ = (app.models, app.warmup, app.images_kept)
        return app

    def of_type(self, resource_type: str) -> list[dict[str, Any]]:
        return [resource.get("Properties", {}) for resource in self.resources if resource.get("Type") == resource_type]

    @property
    def models(self) -> dict[str, dict[str, Any]]:
        """Each model function (the image-based ones), by the package it serves (MODEL_NAME)."""
        functions = [f for f in self.of_type("AWS::Lambda::Function") if f.get("PackageType") == "Image"]
        if not functions:
            raise AssemblyError("expected an image-based Lambda function per model, found 0")
        return {
            f.get("Environment", {}).get("Variables", {}).get("MODEL_NAME", str(i)): f for i, f in enumerate(functions)
        }

    @property
    def function(self) -> dict[str, Any]:
        """The first model's function (POST /predict's)."""
        return next(iter(self.models.values()))

    @property
    def serving(self) -> tuple[Backend, Variant]:
        """(backend, variant) the model functions were synthesized with (their environment)."""
        variables = self.function.get("Environment", {}).get("Variables", {})
        return variables.get("MODEL_BACKEND", "torch"), variables.get("MODEL_VARIANT", "fp32")

    def describe(self, warmup_minutes: int) -> str:
        """The configuration priced, in one line, as the templates say it (not cdk.json)."""
        backend, variant = self.serving
        models = ", ".join(
            f"{name} {function.get('MemorySize')} MB {'/'.join(function.get('Architectures', ['x86_64']))}"
            for name, function in self.models.items()
        )
        extras = [
            f"warm-up every {warmup_minutes} min" if self.warmup else "warm-up off",
            f"{backend} {variant}",
            "SnapStart" if self.snapstart else "",
            f"provisioned concurrency {self.provisioned_concurrency}" if self.provisioned_concurrency else "",
            "dashboard" if self.of_type("AWS::CloudWatch::Dashboard") else "no dashboard",
        ]
        return f"Priced: {models}; " + ", ".join(extra for extra in extras if extra)

    @property
    def warmup(self) -> tuple[int, Any] | None:
        """(minutes between pings, the event) of the warm-up rules, one per model function, if there are any."""
        rules = self.of_type("AWS::Events::Rule")
        if not rules:
            return None
        if len(rules) != len(self.models):
            raise AssemblyError(
                f"expected a warm-up rule (AWS::Events::Rule) per model function ({len(self.models)}), found "
                f"{len(rules)}"
            )
        rule = rules[0]
        schedule = rule.get("ScheduleExpression", "")
        try:
            count, unit = schedule.removeprefix("rate(").removesuffix(")").split()
            return int(count) * MINUTES_PER[unit.removesuffix("s")], json.loads(rule["Targets"][0]["Input"])
        except (ValueError, KeyError, IndexError, TypeError):
            expected = "rate(N minutes|hours|days) with an input"
            raise AssemblyError(f"the warm-up rule is not {expected}: {schedule!r}") from None

    @property
    def snapstart(self) -> bool:
        return self.function.get("SnapStart", {}).get("ApplyOn") == "PublishedVersions"

    @property
    def provisioned_concurrency(self) -> int:
        return sum(
            alias.get("ProvisionedConcurrencyConfig", {}).get("ProvisionedConcurrentExecutions", 0)
            for alias in self.of_type("AWS::Lambda::Alias")
        )

    @property
    def images_kept(self) -> int:
        """The images each model's ECR repository keeps (the staging stack has one per model, alike)."""
        repositories = self.of_type("AWS::ECR::Repository")
        if len(repositories) != len(self.models):
            raise AssemblyError(f"expected an ECR repository per model ({len(self.models)}), found {len(repositories)}")
        kept = {self._images_kept(repository) for repository in repositories}
        return _one(sorted(kept), "number of images kept by every ECR repository")

    @staticmethod
    def _images_kept(repository: dict[str, Any]) -> int:
        try:
            rules = json.loads(repository["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        except (ValueError, KeyError, TypeError):
            raise AssemblyError("the ECR repository has no lifecycle policy with rules") from None
        rule = _one(rules, "lifecycle rule on the ECR repository")
        try:
            return int(rule["selection"]["countNumber"])
        except (ValueError, KeyError, TypeError):
            raise AssemblyError("the ECR repository's lifecycle rule keeps no countNumber of images") from None


def measure_handler(event: Any, samples: int = 500, model_dir: Path | None = None) -> HandlerTiming:
    """The real handler (of the package in model_dir, default the runtime's) in a fresh Python process,
    so its import is a real init (torch, the model)."""
    result = subprocess.run(
        [sys.executable, "-m", "tools.idle_cost", "--time-handler", json.dumps(event), "--samples", str(samples)],
        cwd=REPO,
        env={**os.environ, "MODEL_DIR": str(model_dir)} if model_dir else None,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return HandlerTiming(**json.loads(result.stdout))


def _time_handler_here(event: Any, samples: int) -> HandlerTiming:
    """In this (fresh) process: the handler's import, then `samples` invocations with the event."""
    started = time.perf_counter()
    from inference import handler

    init_seconds = time.perf_counter() - started
    from local.lambda_context import LocalLambdaContext

    output, durations = io.StringIO(), []
    with redirect_stdout(io.StringIO()):
        handler.lambda_handler(event, LocalLambdaContext())  # the first one also reports the cold start
    with redirect_stdout(output):
        for _ in range(samples):
            started = time.perf_counter()
            handler.lambda_handler(event, LocalLambdaContext())
            durations.append(time.perf_counter() - started)
    return HandlerTiming(init_seconds, statistics.median(durations) * 1000, len(output.getvalue().encode()) / samples)


@dataclass(frozen=True)
class Cost:
    item: str
    basis: str  # how it is computed
    usd: float  # per month
    warmup_only: bool = False  # paid only while the warm-up runs

    @property
    def usd_without_warmup(self) -> float:
        return 0.0 if self.warmup_only else self.usd


def idle_costs(
    app: App, timings: dict[str, HandlerTiming], warmup_minutes: int, model_gb: dict[str, float]
) -> list[Cost]:
    """The monthly costs; `timings` and `model_gb` (its graph's size) by model, as app.models names them."""
    models = app.models
    pings = HOURS_PER_MONTH * 60 / warmup_minutes
    recycles = RECYCLES_PER_DAY * HOURS_PER_MONTH / 24
    alarms, dashboards = len(app.of_type("AWS::CloudWatch::Alarm")), len(app.of_type("AWS::CloudWatch::Dashboard"))
    stored_gb = sum(IMAGE_WITHOUT_MODEL_GB + app.images_kept * model_gb[name] for name in models)
    layers = " + ".join(f"{model_gb[name]:.3f}" for name in models)
    costs = [
        Cost("CloudWatch alarms", f"{alarms} × ${ALARM_MONTH:.2f}", alarms * ALARM_MONTH),
        Cost(
            "CloudWatch dashboard",
            f"{dashboards} × ${DASHBOARD_MONTH:.2f} (free if among the account's first 3)",
            dashboards * DASHBOARD_MONTH,
        ),
        Cost(
            "ECR image storage",
            f"≤ {stored_gb:.2f} GB ({len(models)} × ~{IMAGE_WITHOUT_MODEL_GB} GB base and libraries, estimated, + "
            f"{app.images_kept} kept images × ({layers}) GB model layer) × ${ECR_GB_MONTH:.2f}/GB",
            stored_gb * ECR_GB_MONTH,
        ),
        Cost(
            "Lambda requests (warm-up)",
            f"{len(models)} × {pings:,.0f} pings × $0.20/million",
            len(models) * pings * LAMBDA_REQUEST,
            True,
        ),
    ]
    # A row per model where its memory or its handler's timing matters; named only with several.
    for name, function in models.items():
        of = f" ({name})" if len(models) > 1 else ""
        timing, memory_gb = timings[name], function["MemorySize"] / 1024
        gb_second = LAMBDA_GB_SECOND[function["Architectures"][0]]
        billed_ms = max(BILLED_MS_MINIMUM, math.ceil(timing.warmup_ms))
        log_bytes = timing.warmup_log_bytes + PLATFORM_LOG_BYTES
        costs += [
            Cost(
                f"Lambda duration (warm-up){of}",
                f"{pings:,.0f} × {billed_ms} ms billed (measured {timing.warmup_ms:.3f} ms) × {memory_gb:g} GB",
                pings * billed_ms / 1000 * memory_gb * gb_second,
                True,
            ),
            _recycling(app.snapstart, recycles, timing, memory_gb, gb_second, of),
            Cost(
                f"CloudWatch Logs (warm-up){of}",
                f"{pings:,.0f} × {log_bytes:.0f} bytes × ${LOGS_INGESTED_GB:.2f}/GB",
                pings * log_bytes / GB * LOGS_INGESTED_GB,
                True,
            ),
        ]
        if app.snapstart:
            # One published version is live at a time: CloudFormation deletes the one a deploy replaces.
            costs.append(
                Cost(
                    f"SnapStart snapshot cache{of}",
                    f"1 version × {memory_gb:g} GB × {HOURS_PER_MONTH} h × ${SNAPSHOT_CACHE_GB_SECOND:.10f}/GB-s",
                    memory_gb * HOURS_PER_MONTH * 3600 * SNAPSHOT_CACHE_GB_SECOND,
                )
            )
        # Every model function has the same live alias (provisioned_concurrency is one setting).
        if provisioned := app.provisioned_concurrency // len(models):
            costs.append(
                Cost(
                    f"Provisioned concurrency{of}",
                    f"{provisioned} × {memory_gb:g} GB × {HOURS_PER_MONTH} h",
                    provisioned
                    * memory_gb
                    * HOURS_PER_MONTH
                    * 3600
                    * PROVISIONED_GB_SECOND[function["Architectures"][0]],
                )
            )
    # WarmUps is one metric (its dimension is the service); ColdStart one per function (function_name).
    costs.append(
        Cost(
            "Custom metrics (WarmUps, ColdStart)",
            f"WarmUps every hour + {len(models)} × ColdStart {RECYCLES_PER_DAY} hours a day, × "
            f"${CUSTOM_METRIC_MONTH:.2f}",
            (1 + len(models) * min(1.0, RECYCLES_PER_DAY / 24)) * CUSTOM_METRIC_MONTH,
            True,
        )
    )
    if keys := len(app.of_type("AWS::KMS::Key")):
        costs.append(Cost("KMS key (alarm topic)", f"{keys} × ${KMS_KEY_MONTH:.2f}", keys * KMS_KEY_MONTH))
    return costs


def _recycling(
    snapstart: bool, recycles: float, timing: HandlerTiming, memory_gb: float, gb_second: float, of: str = ""
) -> Cost:
    """A recycled warm environment is replaced by a cold start, or with SnapStart by a restore."""
    every = f"assumed every {24 // RECYCLES_PER_DAY} h"
    if snapstart:
        return Cost(
            f"SnapStart restores after recycling{of}",
            f"{recycles:.0f} restores ({every}) × {memory_gb:g} GB × ${SNAPSHOT_RESTORE_GB}/GB",
            recycles * memory_gb * SNAPSHOT_RESTORE_GB,
            True,
        )
    return Cost(
        f"Lambda init after recycling{of}",
        f"{recycles:.0f} cold starts ({every}) × {timing.init_seconds:.1f} s (measured) × {memory_gb:g} GB",
        recycles * timing.init_seconds * memory_gb * gb_second,
        True,
    )


def table(costs: list[Cost], warmup_minutes: int) -> str:
    on, off = sum(c.usd for c in costs), sum(c.usd_without_warmup for c in costs)
    return "\n".join(
        [
            f"| item | computed from | warm-up on (every {warmup_minutes} min) | warm-up off |",
            "|---|---|---:|---:|",
            *(f"| {c.item} | {c.basis} | {dollars(c.usd)} | {dollars(c.usd_without_warmup)} |" for c in costs),
            f"| **total per month** | | **{dollars(on)}** | **{dollars(off)}** |",
        ]
    )


def dollars(usd: float) -> str:
    return "$0" if usd == 0 else "< $0.01" if usd < 0.005 else f"${usd:.2f}"


def main(argv: list[str] | None = None) -> int:
    # The first paragraph: its first line alone stops mid-sentence.
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assembly", type=Path, default=REPO / "cdk.out", help="the cloud assembly (default: cdk.out)")
    # Internal: measure_handler runs this module again with these to time the handler.
    parser.add_argument("--time-handler", metavar="EVENT", help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=int, default=500, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.time_handler:
        print(json.dumps(asdict(_time_handler_here(json.loads(args.time_handler), args.samples))))
        return 0
    if not (args.assembly / "manifest.json").is_file():
        print(f"no synthesized templates in {args.assembly}: run `make cost`, which synthesizes first", file=sys.stderr)
        return 2
    try:
        app = App.from_assembly(args.assembly)
    except AssemblyError as error:
        print(f"{args.assembly}: {error}", file=sys.stderr)
        return 2
    try:  # as `make cost` synthesized them: cdk.json with CDK_ARGS' -c options
        settings = load_settings(REPO)
    except SettingsError as error:
        print(f"Invalid configuration: {error}", file=sys.stderr)
        return 2
    backend, variant = app.serving
    try:  # each model's warm-up is timed with its package, and its graph is its image's model layer
        packages = served_packages(list(app.models), backend, variant)
    except PackageError as error:
        print(f"{error}: run `make model` first", file=sys.stderr)
        return 2
    # Without a rule in the templates (warmup_enabled=false), the "on" column is the settings' rate.
    warmup_minutes, event = app.warmup or (settings.warmup_rate_minutes, WARMUP_EVENT)
    timings = {package.directory.name: measure_handler(event, model_dir=package.directory) for package in packages}
    model_gb = {package.directory.name: package.graph(backend, variant).stat().st_size / GB for package in packages}
    print(app.describe(warmup_minutes) + "\n")
    print(table(idle_costs(app, timings, warmup_minutes, model_gb), warmup_minutes))
    print("\nList prices, no free tier (which covers the alarms, metrics, Lambda and logs lines of a quiet account).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
