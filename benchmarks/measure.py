"""Measuring: fresh processes (benchmarks/probe.py) serving a package in turns, and their medians.

Every process measured is a fresh `python -I -S benchmarks/probe.py` that sees only the standard
library and one installed layout (benchmarks/layouts.py). A subject is one way of serving a package:
the handler in a variant, backend and thread count, or the naive baseline. The subjects take turns
run after run, so load from elsewhere on the machine falls on all of them alike; every figure is
the median over runs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.layouts import BENCHMARKS, Layouts
from local.events import rest_api_event
from local.lambda_context import LocalLambdaContext
from tools.image_layout import REPO, lambda_env
from training.common import read_split

PROBE = BENCHMARKS / "probe.py"
MODEL_DIR = REPO / "model_artifacts"
# One demo package per task.
PACKAGES = {
    "text-classification": MODEL_DIR / "transaction-classifier",
    "feature-extraction": MODEL_DIR / "embeddings",
    "token-classification": MODEL_DIR / "transaction-entities",
    "image-classification": MODEL_DIR / "digits",
}
TASKS = tuple(PACKAGES)

# Sized for about 12 minutes on 2 busy cores (the first run also installs the layouts: a few minutes
# more). Every run starts each subject once: 24 fresh processes.
RUNS = 3
SINGLE_REQUESTS = 40
BATCH_SIZES = (16, 64)
TEXTS_PER_BATCH_SIZE = 64  # each batch size serves at least this many texts per run (at least 2 requests)
PROBE_TIMEOUT_SECONDS = 300
VARIANTS = ("fp32", "int8", "onnx")
# the handler's subjects: torch fp32, torch int8, onnx (fp32)


@dataclass(frozen=True)
class Subject:
    """One way of serving: the handler in a variant, backend and thread count, or the naive baseline."""

    name: str
    kind: str  # "handler" or "naive"
    variant: str = "fp32"
    threads: int = 1
    backend: str = "torch"  # the handler's; "onnx" runs in the onnx image's layout (no torch)

    @property
    def layout(self) -> str:
        """Which installed layout the probe sees: "naive", "torch" or "onnx"."""
        return "naive" if self.kind == "naive" else self.backend

    def env(self, scratch: Path, task: str, package: Path) -> dict[str, str]:
        env = lambda_env(
            scratch,
            MODEL_DIR=str(package),
            MODEL_VARIANT=self.variant,
            TORCH_THREADS=str(self.threads),
            MODEL_BACKEND=self.backend,
            NAIVE_TASK=task,
            NAIVE_MODULE="naive_custom" if task == "custom" else "naive",
        )
        if self.kind == "naive":
            env["OMP_NUM_THREADS"] = str(self.threads)
        return env


SUBJECTS = [
    Subject(f"{name} {threads}t", kind, variant, threads, backend)
    for threads in (1, 2)
    for name, kind, variant, backend in (
        ("naive", "naive", "fp32", "torch"),
        ("handler fp32", "handler", "fp32", "torch"),
        ("handler int8", "handler", "int8", "torch"),
        ("handler onnx", "handler", "fp32", "onnx"),
    )
]

# Unmeasured starts before the first run: each layout once, and the naive pipeline (its modules are
# files no other subject reads).
PRIMING = [
    (Subject("naive 1t", "naive"), "text-classification"),
    (Subject("naive 1t", "naive"), "token-classification"),
    (Subject("handler fp32 1t", "handler"), "text-classification"),
    (Subject("handler onnx 1t", "handler", backend="onnx"), "text-classification"),
    (Subject("naive 1t", "naive"), "image-classification"),
]


@dataclass
class Workload:
    singles: list[dict]
    batches: dict[int, list[dict]]
    context: dict = field(default_factory=lambda: dataclasses.asdict(LocalLambdaContext()))

    @classmethod
    def for_task(cls, task: str) -> Workload:
        return cls.from_digits() if task == "image-classification" else cls.from_test_split()

    @classmethod
    def from_digits(cls) -> Workload:
        """Held-out digits drawn as 32x32 PNG files (dark on light, as the docs' example): single
        requests send the image as the body (image/png, base64 as API Gateway passes it), batches
        as JSON {"images": [...]}."""
        import base64
        import io

        from training.digits import render, split

        _, _, images, _ = split()
        pngs = []
        for image in images:
            buffer = io.BytesIO()
            render(image).save(buffer, "PNG")
            pngs.append(base64.b64encode(buffer.getvalue()).decode("ascii"))
        singles = [
            rest_api_event(pngs[i % len(pngs)], headers={"Content-Type": "image/png"}, is_base64=True)
            for i in range(SINGLE_REQUESTS)
        ]
        batches = {}
        for size in BATCH_SIZES:
            requests = max(2, TEXTS_PER_BATCH_SIZE // size)
            body = [{"images": [pngs[(r * size + i) % len(pngs)] for i in range(size)]} for r in range(requests)]
            batches[size] = [rest_api_event(json.dumps(b), headers={"Content-Type": "application/json"}) for b in body]
        return cls(singles, batches)

    @classmethod
    def from_test_split(cls) -> Workload:
        """Real statement lines (the classifier's test split), as REST API (v1) proxy events; every
        task answers the same texts."""
        texts = [row["text"] for row in read_split("test")]

        def event(body: dict) -> dict:
            return rest_api_event(json.dumps(body), headers={"Content-Type": "application/json"})

        singles = [event({"text": texts[i % len(texts)]}) for i in range(SINGLE_REQUESTS)]
        batches = {}
        for size in BATCH_SIZES:
            requests = max(2, TEXTS_PER_BATCH_SIZE // size)
            batches[size] = [
                event({"texts": [texts[(r * size + i) % len(texts)] for i in range(size)]}) for r in range(requests)
            ]
        return cls(singles, batches)


@dataclass
class Bench:
    """One bench run's means of measuring: how many rounds, the layouts, a scratch folder for the
    processes' caches, and where progress is said. Every section of the bench measures through it."""

    runs: int
    layouts: Layouts
    scratch: Path
    say: Callable[[str], None]

    def probe(
        self, subject: Subject, task: str, package: Path, mode: str, workload: Workload, paths: list[str] | None = None
    ) -> dict:
        """One fresh process over `paths` (default: its subject's layout); its report with the phase
        stamps turned into seconds since spawn."""
        request = {
            "subject": subject.kind,
            "task": task,
            "mode": mode,
            "paths": paths if paths is not None else self.layouts.paths(subject.layout),
            "context": workload.context,
            "singles": workload.singles,
            "batches": workload.batches if subject.kind == "handler" else {},
        }
        spawned = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-I", "-S", str(PROBE)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            env=subject.env(self.scratch, task, package),
            cwd=self.scratch,
            timeout=PROBE_TIMEOUT_SECONDS,
        )
        if run.returncode != 0:
            raise RuntimeError(f"{task} {subject.name} ({mode}) exited with {run.returncode}:\n{run.stderr[-3000:]}")
        report = json.loads(run.stdout.strip().splitlines()[-1])
        report["wall_seconds"] = time.perf_counter() - spawned
        stamps = {key: report.pop(key) - spawned for key in ("started", "imported", "loaded", "answered")}
        report["phases"] = {
            "interpreter": stamps["started"],
            "imports": stamps["imported"] - stamps["started"],
            "model_load": stamps["loaded"] - stamps["imported"],
            "first_inference": stamps["answered"] - stamps["loaded"],
            "total": stamps["answered"],
        }
        return report


def measure_tasks(bench: Bench, packages: dict[str, Path]) -> tuple[dict, dict]:
    """Every subject of every task, `bench.runs` times in turns: per task its package, cold start
    (the 1-thread processes') and warm summaries; and each process's median wall time."""
    workloads = {task: Workload.for_task(task) for task in packages}
    reports: dict[str, dict[str, list[dict]]] = {task: {s.name: [] for s in SUBJECTS} for task in packages}

    def run(subject: Subject, task: str, mode: str) -> dict:
        return bench.probe(subject, task, packages[task], mode, workloads[task])

    bench.say("priming: every package file read once, one unmeasured start of each layout (and of the naive pipeline)")
    for package in packages.values():
        for path in package.rglob("*"):
            if path.is_file():
                with path.open("rb") as handle:
                    while handle.read(1 << 24):
                        pass
    for subject, task in PRIMING:
        if task in packages:
            run(subject, task, "cold")
    for number in range(bench.runs):
        bench.say(f"run {number + 1}/{bench.runs}: {len(packages) * len(SUBJECTS)} fresh processes")
        for task in packages:
            for subject in SUBJECTS:
                reports[task][subject.name].append(run(subject, task, "warm"))
    tasks = {
        task: {
            "package": {
                "name": json.loads((packages[task] / "model_card.json").read_text())["name"],
                "path": str(packages[task].relative_to(REPO)),
            },
            # Every process measured started cold: the cold figures are those of the 1-thread ones.
            "cold": {
                name.removesuffix(" 1t"): summarize_cold(runs)
                for name, runs in reports[task].items()
                if name.endswith(" 1t")
            },
            "warm": {name: summarize_warm(runs) for name, runs in reports[task].items()},
        }
        for task in packages
    }
    process_seconds = {
        task: {name: statistics.median(r["wall_seconds"] for r in runs) for name, runs in reports[task].items()}
        for task in packages
    }
    return tasks, process_seconds


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def median_of(reports: list[dict], value) -> float:
    return statistics.median(value(report) for report in reports)


def summarize_cold(reports: list[dict]) -> dict:
    return {
        phase: median_of(reports, lambda r, phase=phase: r["phases"][phase])
        for phase in ("interpreter", "imports", "model_load", "first_inference", "total")
    } | {"runs": len(reports), "totals": sorted(r["phases"]["total"] for r in reports)}


def summarize_warm(reports: list[dict]) -> dict:
    summary = {
        "p50_ms": median_of(reports, lambda r: percentile(r["singles"], 0.5) * 1000),
        "p95_ms": median_of(reports, lambda r: percentile(r["singles"], 0.95) * 1000),
        "singles_texts_per_s": median_of(reports, lambda r: len(r["singles"]) / sum(r["singles"])),
        "peak_rss_mb": median_of(reports, lambda r: r["peak_rss_mb"]),
        "runs": len(reports),
        "p50s_ms": sorted(percentile(r["singles"], 0.5) * 1000 for r in reports),
    }
    if "forwards" in reports[0]:
        summary["forward_p50_ms"] = median_of(reports, lambda r: percentile(r["forwards"], 0.5) * 1000)
        summary["forward_p95_ms"] = median_of(reports, lambda r: percentile(r["forwards"], 0.95) * 1000)
    if reports[0].get("batches"):
        summary["texts_per_s"] = {
            size: median_of(reports, lambda r, size=size: int(size) * len(r["batches"][size]) / sum(r["batches"][size]))
            for size in reports[0]["batches"]
        }
        summary["batch_p50_ms"] = {
            size: median_of(reports, lambda r, size=size: percentile(r["batches"][size], 0.5) * 1000)
            for size in reports[0]["batches"]
        }
        summary["warmup_ms"] = median_of(reports, lambda r: percentile(r["warmups"], 0.5) * 1000)
    return summary


def overhead_us(warm: dict) -> float:
    """What a warm request costs beside its model's forward, in microseconds: p50 of the whole
    answer minus p50 of the forward alone (a summarize_warm summary that has both)."""
    return (warm["p50_ms"] - warm["forward_p50_ms"]) * 1000


def machine_facts() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    import torch

    niceness = os.nice(0)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "command": (f"nice -n {niceness} " if niceness else "") + "python -m benchmarks.run",
    }
