"""`python -m benchmarks.run` (`make bench`): measure the runtime against the naive transformers path,
task by task, in one run, and write benchmarks/results/latest.json and latest.md.

The tasks: text-classification (model_artifacts/transaction-classifier), feature-extraction
(model_artifacts/embeddings), token-classification (model_artifacts/transaction-entities) and
image-classification (model_artifacts/digits; `--tasks` measures
some of them only); and the cold start of the custom demo package (model_artifacts/merchant-normalizer,
its own predictor.py) against the plain script that loads its nn.Module (benchmarks/naive_custom.py);
`--custom-only` measures that part alone. Every process measured is a fresh `python -I -S` (benchmarks/probe.py)
that sees only the standard library and one installed layout: the image's
(lambda_image/requirements.txt + the task root), the onnx image's (lambda_image/requirements-onnx.txt
+ the task root) or the naive baseline's (benchmarks/naive_requirements.txt + benchmarks/naive.py).
The subjects take turns run after run, so load from elsewhere on the machine falls on all of them
alike; every figure is the median over runs, and the goals are ratios against the baseline of the
same task in the same run.
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import fnmatch
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from deployment.catalog import NOT_SERVED
from inference.package import GRAPH_FILES
from inference.settings import LAMBDA_MB_PER_VCPU
from local.events import rest_api_event
from local.lambda_context import LocalLambdaContext
from tools.idle_cost import LAMBDA_GB_SECOND, LAMBDA_REQUEST
from tools.image_layout import ONNX_IMAGE_REQUIREMENTS, REPO, installed, lambda_env
from training.common import read_split
from training.evaluate_entities import found_entities, scores
from training.train_entities import read_entities

BENCHMARKS = Path(__file__).resolve().parent
RESULTS = BENCHMARKS / "results"
PROBE = BENCHMARKS / "probe.py"
NAIVE_REQUIREMENTS = BENCHMARKS / "naive_requirements.txt"
NAIVE_TARGET_CACHE = REPO / ".cache" / "bench-naive"
# The benchmarks' own copies of the image layouts: the tests' copies (tools/image_layout.py's default
# cache) are replaced whenever a test run installs other pins, which would pull them from under a
# bench that is running.
IMAGE_TARGET_CACHE = REPO / ".cache" / "bench" / "image-target"
MODEL_DIR = REPO / "model_artifacts"
TASK_ROOT = REPO / "lambda_image"
TASKS = ("text-classification", "feature-extraction", "token-classification", "image-classification")
CUSTOM_PACKAGE = MODEL_DIR / "merchant-normalizer"
# Cold starts only, at 1 thread: the custom package has no int8 or onnx graph, and its naive baseline is
# its own network's call, so there is no lighter forward to compare warm answers with.

# Sized for about 12 minutes on 2 busy cores (the first run also installs the layouts: a few minutes
# more). Every run starts each subject once: 24 fresh processes.
RUNS = 3
SINGLE_REQUESTS = 40
BATCH_SIZES = (16, 64)
TEXTS_PER_BATCH_SIZE = 64  # each batch size serves at least this many texts per run (at least 2 requests)
PROBE_TIMEOUT_SECONDS = 300

# Prices: AWS list prices, us-east-1, on demand, no free tier, as of 2025 (the Lambda ones are
# shared with tools/idle_cost.py).
API_GATEWAY_REST_REQUEST = 3.50 / 1e6
PRICE_NOTE = (
    "list prices, us-east-1, as of 2025: Lambda x86_64 $0.0000166667 and arm64 $0.0000133334 per GB-s, "
    "$0.20 per 1M requests; API Gateway REST API $3.50 per 1M requests (first 333M/month); no free tier"
)
MEMORY_SIZES_MB = (1024, 2048, 3008)
# The scheduled warm-up: one ping every 5 minutes over a 30-day month.
WARMUP_PINGS_PER_MONTH = 30 * 24 * 60 // 5

GOALS = {
    "cold_start": 0.5,  # handler / naive (import transformers, from_pretrained, first answer), at most
    "warm_p50": 1.0,  # handler p50 (whole handler) / naive forward p50 (dynamic padding, same threads), at most
    "payload_gb": 1.2,  # what an image adds to the Lambda base image, at most
}
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


CUSTOM_SUBJECTS = [Subject("naive 1t", "naive"), Subject("handler fp32 1t", "handler")]

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


def custom_workload() -> Workload:
    """The same statement lines, as the custom demo's requests ({"sentence": ...}); cold starts answer the first."""
    texts = [row["text"] for row in read_split("test")]
    events = [
        rest_api_event(json.dumps({"sentence": text}), headers={"Content-Type": "application/json"})
        for text in texts[:SINGLE_REQUESTS]
    ]
    return Workload(events, {})


def measure_custom(runs: int, paths: dict[str, list[str]], scratch: Path, say) -> dict:
    """Cold starts of the custom demo package: the handler in the image's layout against the plain
    script (benchmarks/naive_custom.py) in the same layout (it needs torch and the predictor's pydantic)."""
    workload = custom_workload()
    reports: dict[str, list[dict]] = {subject.name: [] for subject in CUSTOM_SUBJECTS}
    subject_paths = {"handler": paths["torch"], "naive": [str(BENCHMARKS), paths["torch"][1]]}
    for subject in CUSTOM_SUBJECTS:  # unmeasured: the package's files and modules read once
        probe(subject, "custom", CUSTOM_PACKAGE, "cold", workload, subject_paths[subject.kind], scratch)
    for number in range(runs):
        say(f"custom package, run {number + 1}/{runs}: {len(CUSTOM_SUBJECTS)} fresh processes")
        for subject in CUSTOM_SUBJECTS:
            reports[subject.name].append(
                probe(subject, "custom", CUSTOM_PACKAGE, "cold", workload, subject_paths[subject.kind], scratch)
            )
    cold = {name.removesuffix(" 1t"): summarize_cold(runs_) for name, runs_ in reports.items()}
    ratio = cold["handler fp32"]["total"] / cold["naive"]["total"]
    card = json.loads((CUSTOM_PACKAGE / "model_card.json").read_text(encoding="utf-8"))
    return {
        "package": {"name": card["name"], "path": str(CUSTOM_PACKAGE.relative_to(REPO))},
        "cold": cold,
        "goal": {
            "goal": "cold start / naive",
            "measured": ratio,
            "target": f"≤ {GOALS['cold_start']}",
            "met": ratio <= GOALS["cold_start"],
        },
    }


def custom_markdown(custom: dict) -> list[str]:
    cold, goal = custom["cold"], custom["goal"]
    lines = [
        "",
        f"## Custom package: {custom['package']['name']} (`{custom['package']['path']}`), cold start",
        "",
        "Its naive baseline is the plain script a tutorial writes for its own `nn.Module` (benchmarks/naive_custom.py: "
        "`import torch`, the class from the package's predictor.py, `load_state_dict`, one answer), in the "
        "image's layout. "
        f"Goal: {goal['goal']} {goal['target']}: measured {goal['measured']:.2f}, "
        f"{'met' if goal['met'] else '**not met**'}.",
        "",
        "| subject | interpreter | imports | model load | first answer | total | × naive |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, c in cold.items():
        lines.append(
            f"| {name} | {c['interpreter']:.2f} | {c['imports']:.2f} | {c['model_load']:.2f} | "
            f"{c['first_inference']:.3f} "
            f"| **{c['total']:.2f}** | {c['total'] / cold['naive']['total']:.2f} |"
        )
    return lines


def probe(
    subject: Subject, task: str, package: Path, mode: str, workload: Workload, paths: list[str], scratch: Path
) -> dict:
    """One fresh process; its report with the phase stamps turned into seconds since spawn."""
    request = {
        "subject": subject.kind,
        "task": task,
        "mode": mode,
        "paths": paths,
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
        env=subject.env(scratch, task, package),
        cwd=scratch,
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


def directory_bytes(path: Path, skip=lambda p: False) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not skip(p))


def cuda_files(site_packages: Path) -> list[str]:
    """CUDA runtime libraries or nvidia-* packages: what a GPU wheel of torch would have brought."""
    markers = ("libcudart", "libcublas", "libcudnn", "libnccl", "libcusparse", "libcufft")
    return sorted(
        str(p.relative_to(site_packages))
        for p in site_packages.rglob("*")
        if p.name.startswith(markers) or (p.parent == site_packages and p.name.lower().startswith("nvidia"))
    )


def served_files(package: Path, graph: str | None) -> list[Path]:
    """The files of a package an image carries (infra/constructs/model_function.py's build context):
    not the NOT_SERVED ones (transformers' weights, plots, READMEs, evaluation outputs), and of the
    graphs only `graph`. graph=None: the naive image's, which reads the weights and no graph."""
    files = []
    for path in sorted(p for p in package.rglob("*") if p.is_file()):
        if path.name in GRAPH_FILES.values():
            if path.name == graph:
                files.append(path)
        elif (graph is None and fnmatch.fnmatch(path.name, "*.safetensors")) or not any(
            fnmatch.fnmatch(path.name, pattern) for pattern in NOT_SERVED
        ):
            files.append(path)
    return files


def payload(sites: dict[str, Path], packages: dict[str, Path]) -> dict:
    """What each image adds to the base image: runtime dependencies, the package as that image
    carries it, the handler's code; per task, for the torch image (fp32 or int8 graph), the onnx
    image (BACKEND=onnx) and the naive one (torch + transformers + the weights)."""
    handler = directory_bytes(TASK_ROOT / "inference", skip=lambda p: "__pycache__" in p.parts)
    dependencies = {layout: directory_bytes(site) for layout, site in sites.items()}
    tasks = {}
    for task, package in packages.items():
        images = {}
        for name, layout, graph in (
            ("fp32", "torch", GRAPH_FILES["torch", "fp32"]),
            ("int8", "torch", GRAPH_FILES["torch", "int8"]),
            ("onnx", "onnx", GRAPH_FILES["onnx", "fp32"]),
            ("naive", "naive", None),
        ):
            model = sum(p.stat().st_size for p in served_files(package, graph))
            code = 0 if layout == "naive" else handler
            images[name] = {"model_gb": model / 1e9, "total_gb": (dependencies[layout] + model + code) / 1e9}
        tasks[task] = images
    biggest = sorted(((directory_bytes(p), p.name) for p in sites["torch"].iterdir() if p.is_dir()), reverse=True)[:6]
    return {
        "dependencies_gb": {layout: size / 1e9 for layout, size in dependencies.items()},
        "handler_mb": handler / 1e6,
        "tasks": tasks,
        "largest_packages_mb": {name: size / 1e6 for size, name in biggest},
        "cuda_files": {layout: cuda_files(sites[layout]) for layout in ("torch", "onnx")},
    }


def int8_quality(packages: dict[str, Path]) -> dict:
    """How far the int8 variant is from fp32 on the whole test split: the classifier's agreement and
    both accuracies; the embeddings' cosine similarity to fp32's; the entities model's F1 (exact
    span and label) on its own test split."""
    import numpy as np

    from inference.runtime import Runtime
    from inference.settings import Settings

    rows = read_split("test")
    texts = [row["text"] for row in rows]

    def runtime(task: str, variant: str) -> Runtime:
        return Runtime.load(
            Settings(MODEL_DIR=packages[task], MODEL_VARIANT=variant, TORCH_THREADS=os.cpu_count() or 1)
        )

    def model(task: str, variant: str):
        return runtime(task, variant).task

    labels = {}
    for variant in ("fp32", "int8"):
        classifier = model("text-classification", variant)
        labels[variant] = [classifier.labels[i] for i in classifier.probabilities(texts).argmax(axis=1)]
    fp32, int8 = (model("feature-extraction", variant).embeddings(texts) for variant in ("fp32", "int8"))
    cosines = (fp32 * int8).sum(axis=1)  # both normalized
    entity_rows = read_entities("test")
    truth = [{(e["label"], e["start"], e["end"]) for e in row["entities"]} for row in entity_rows]
    entity_texts = [row["text"] for row in entity_rows]
    entity_f1 = {
        variant: scores(truth, found_entities(runtime("token-classification", variant), entity_texts))["all"]["f1"]
        for variant in ("fp32", "int8")
    }
    return {
        "test_texts": len(rows),
        "agreement": sum(a == b for a, b in zip(labels["fp32"], labels["int8"], strict=True)) / len(rows),
        "fp32_accuracy": sum(p == row["label"] for p, row in zip(labels["fp32"], rows, strict=True)) / len(rows),
        "int8_accuracy": sum(p == row["label"] for p, row in zip(labels["int8"], rows, strict=True)) / len(rows),
        "embedding_cosine_mean": float(np.mean(cosines)),
        "embedding_cosine_min": float(np.min(cosines)),
        "entity_lines": len(entity_rows),
        "entity_f1_fp32": entity_f1["fp32"],
        "entity_f1_int8": entity_f1["int8"],
    }


def lambda_duration_ms(one_core_ms: float, memory_mb: int) -> float:
    """The model of Lambda's CPU: a function gets memory/1769 MB of a vCPU's time. Below one vCPU a
    single thread runs proportionally slower; above it, one thread (what the handler uses below
    3,538 MB) cannot go faster than on one full core."""
    return one_core_ms * max(1.0, LAMBDA_MB_PER_VCPU / memory_mb)


def usd_per_million(duration_ms: float, memory_mb: int, architecture: str, texts_per_request: int) -> float:
    billed_ms = math.ceil(duration_ms)
    per_request = (
        billed_ms / 1000 * memory_mb / 1024 * LAMBDA_GB_SECOND[architecture] + LAMBDA_REQUEST + API_GATEWAY_REST_REQUEST
    )
    return per_request / texts_per_request * 1e6


def cost_table(tasks: dict) -> list[dict]:
    """$ per 1M predictions from the one-thread warm durations (single requests, and fp32 64-text
    requests), per task."""
    rows = []
    for task, measured in tasks.items():
        warm = measured["warm"]
        for architecture in ("x86_64", "arm64"):
            for memory_mb in MEMORY_SIZES_MB:
                row = {"task": task, "architecture": architecture, "memory_mb": memory_mb}
                for key in ("naive", *VARIANTS):
                    subject = "naive 1t" if key == "naive" else f"handler {key} 1t"
                    single_ms = lambda_duration_ms(warm[subject]["p50_ms"], memory_mb)
                    row[f"{key}_single_ms"] = single_ms
                    row[f"{key}_single_usd"] = usd_per_million(single_ms, memory_mb, architecture, 1)
                batch_ms = lambda_duration_ms(warm["handler fp32 1t"]["batch_p50_ms"]["64"], memory_mb)
                row["fp32_batch64_usd"] = usd_per_million(batch_ms, memory_mb, architecture, 64)
                rows.append(row)
    return rows


def warmup_cost(warm: dict) -> list[dict]:
    billed_ms = max(1, math.ceil(warm["handler fp32 1t"]["warmup_ms"]))
    return [
        {
            "architecture": architecture,
            "memory_mb": memory_mb,
            "usd_per_month": WARMUP_PINGS_PER_MONTH
            * (billed_ms / 1000 * memory_mb / 1024 * LAMBDA_GB_SECOND[architecture] + LAMBDA_REQUEST),
        }
        for architecture in ("x86_64", "arm64")
        for memory_mb in MEMORY_SIZES_MB
    ]


def goals(tasks: dict, size: dict) -> list[dict]:
    """One row per task and goal, with the handler's three subjects (fp32, int8, onnx) as values;
    met when every subject meets it (each is a shipping configuration)."""
    rows = []
    for task, measured in tasks.items():
        cold, warm = measured["cold"], measured["warm"]
        rows.append(
            (
                task,
                "cold start / naive",
                {v: cold[f"handler {v}"]["total"] / cold["naive"]["total"] for v in VARIANTS},
                "≤",
                GOALS["cold_start"],
            )
        )
        for threads in (1, 2):
            baseline = warm[f"naive {threads}t"]["forward_p50_ms"]
            ratios = {v: warm[f"handler {v} {threads}t"]["p50_ms"] / baseline for v in VARIANTS}
            rows.append(
                (
                    task,
                    f"warm p50 / naive forward, {threads} thread{'s' if threads > 1 else ''}",
                    ratios,
                    "≤",
                    GOALS["warm_p50"],
                )
            )
        images = size["tasks"][task]
        rows.append(
            (task, "image payload (GB)", {v: images[v]["total_gb"] for v in VARIANTS}, "≤", GOALS["payload_gb"])
        )
    cuda = {v: float(len(size["cuda_files"]["onnx" if v == "onnx" else "torch"])) for v in VARIANTS}
    rows.append(("all", "CUDA files in the image", cuda, "=", 0))
    return [
        {
            "task": task,
            "goal": name,
            "measured": values,
            "target": f"{sign} {target}",
            "met": all(value <= target if sign == "≤" else value == target for value in values.values()),
        }
        for task, name, values, sign, target in rows
    ]


def markdown(results: dict) -> str:
    machine, settings, tasks, size = results["machine"], results["settings"], results["tasks"], results["payload"]
    lines = [
        "# Benchmark results",
        "",
        *(f"Note: {note}." for note in results.get("notes", [])),
        *([""] if results.get("notes") else []),
        f"`make bench` on {machine['cpu']} ({machine['cores']} cores), Python {machine['python']}, torch "
        f"{machine['torch']}, "
        f"{results['date']}, run under `{machine['command']}`. Load average (1 min) before/after: "
        f"{machine['load_before']} / "
        f"{machine['load_after']} (the machine is shared: absolute times are noisy; the ratios compare subjects "
        "measured in "
        "turn in the same run).",
        "",
        "Subjects per task: **naive** (module-level `import torch, transformers`, `from_pretrained`, tutorial "
        "post-processing; "
        "warm baseline: its model's forward alone, dynamic padding, `torch.inference_mode`), the **handler** "
        "(`inference.handler.lambda_handler`, REST API event in, JSON out) with **fp32** (model.pt), **int8** "
        "(model.int8.pt) "
        "and **onnx** (model.onnx, in the onnx image's layout: no torch).",
        "",
        "## Goals",
        "",
        "A row is met when fp32, int8 and onnx all meet it.",
        "",
        "| task | goal | fp32 | int8 | onnx | target | met |",
        "| --- | --- | ---: | ---: | ---: | ---: | :---: |",
    ]
    for g in results["goals"]:
        values = " | ".join(
            f"{g['measured'][v]:.2f}" if g["task"] != "all" else f"{g['measured'][v]:.0f}" for v in VARIANTS
        )
        lines.append(f"| {g['task']} | {g['goal']} | {values} | {g['target']} | {'yes' if g['met'] else '**no**'} |")
    lines += [
        "",
        f"## Cold start (fresh process to first answered request, median of {settings['runs']} runs, seconds)",
        "",
        "The starts of the 1-thread processes below (every subject, naive included, at 1 thread: a 2,048 MB function's "
        "handler). Handler: its model load includes the runtime's init answer. Naive: its imports are torch and "
        "transformers, its model load `from_pretrained` (token-classification: `pipeline(...)`).",
        "",
        "| task | subject | interpreter | imports | model load | first answer | total | × naive |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for task, measured in tasks.items():
        cold = measured["cold"]
        for name, c in cold.items():
            lines.append(
                f"| {task} | {name} | {c['interpreter']:.2f} | {c['imports']:.2f} | {c['model_load']:.2f} | "
                f"{c['first_inference']:.3f} "
                f"| **{c['total']:.2f}** | {c['total'] / cold['naive']['total']:.2f} |"
            )
    sizes = " / ".join(map(str, settings["batch_sizes"]))
    lines += [
        "",
        f"## Warm latency and throughput (median of {settings['runs']} runs of {settings['single_requests']} "
        "single-text requests each)",
        "",
        "Handler: the whole handler, REST API (v1) event in, JSON response out, logs and metrics included. Naive: "
        "its whole "
        "handler (p50, p95), and its model's forward alone on inputs tokenized beforehand (the baseline of the goals). "
        "Model forward of a handler: its package's graph alone (TorchScript or ONNX), also on inputs tokenized "
        "beforehand. "
        f"Batch throughput: {settings['texts_per_batch_size']} texts at each batch size, through the whole handler.",
        "",
        "| task | subject | p50 ms | p95 ms | model forward p50 ms | p50 / naive forward | texts/s at batch "
        f"{sizes} | peak RSS MB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for task, measured in tasks.items():
        warm = measured["warm"]
        for name, w in warm.items():
            baseline = warm[f"naive {name.rsplit(' ', 1)[1]}"]["forward_p50_ms"]
            forward = f"{w['forward_p50_ms']:.1f}" if "forward_p50_ms" in w else "–"
            if "texts_per_s" in w:
                throughput = " / ".join(f"{w['texts_per_s'][str(s)]:.0f}" for s in settings["batch_sizes"])
            else:
                throughput = f"{w['singles_texts_per_s']:.0f} (single only)"
            rss = f"{w['peak_rss_mb']:.0f}" if "peak_rss_mb" in w else "–"
            lines.append(
                f"| {task} | {name} | {w['p50_ms']:.1f} | {w['p95_ms']:.1f} | {forward} | {w['p50_ms'] / baseline:.2f} "
                f"| {throughput} | {rss} |"
            )
    lines += ["", "Threads 1 vs 2 (p50 of single requests; texts/s at batch 64):", ""]
    for task, measured in tasks.items():
        warm = measured["warm"]
        parts = []
        for v in VARIANTS:
            one, two = warm[f"handler {v} 1t"], warm[f"handler {v} 2t"]
            parts.append(
                f"{v} {one['p50_ms']:.1f} → {two['p50_ms']:.1f} ms, {one['texts_per_s']['64']:.0f} → "
                f"{two['texts_per_s']['64']:.0f} texts/s"
            )
        lines.append(f"- {task}: " + "; ".join(parts))
    quality = results["int8_quality"]
    if quality:
        lines += [
            "",
            "## int8 variant on the test split",
            "",
            f"- text-classification, {quality['test_texts']} texts: int8 agrees with fp32 on "
            f"{quality['agreement']:.1%}; accuracy "
            f"fp32 {quality['fp32_accuracy']:.1%}, int8 {quality['int8_accuracy']:.1%}.",
            f"- feature-extraction, the same texts: cosine similarity of int8's embeddings to fp32's: mean "
            f"{quality['embedding_cosine_mean']:.4f}, lowest {quality['embedding_cosine_min']:.4f}.",
            f"- token-classification, {quality['entity_lines']} lines of its own test split: entity F1 "
            f"fp32 {quality['entity_f1_fp32']:.3f}, int8 {quality['entity_f1_int8']:.3f}.",
        ]
    lines += [
        "",
        "## Payload (what each image adds to the Lambda base image, GB)",
        "",
        "Runtime dependencies: torch image "
        + ", ".join(f"{layout} {gb:.2f}" for layout, gb in size["dependencies_gb"].items())
        + f" (naive: torch + transformers); handler code {size['handler_mb']:.2f} MB; the package as the image "
        "carries it "
        "(its graph for that image, config and tokenizer; no safetensors, except in the naive image, which reads "
        "them).",
        "",
        "| task | torch fp32 image | torch int8 image | onnx image | naive image |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for task, images in size["tasks"].items():
        lines.append(
            f"| {task} | "
            + " | ".join(
                f"**{images[v]['total_gb']:.2f}** (model {images[v]['model_gb']:.3f})" for v in (*VARIANTS, "naive")
            )
            + " |"
        )
    lines += [
        "",
        "- largest packages of the torch image (MB): "
        + ", ".join(f"{n} {mb:.0f}" for n, mb in size["largest_packages_mb"].items()),
        "- CUDA libraries (libcudart, libcublas, libcudnn, libnccl, ...) or nvidia-* packages: "
        + "; ".join(
            f"{layout} image: {', '.join(files) if files else 'none'}" for layout, files in size["cuda_files"].items()
        ),
        "",
        "## Cost per 1M single-text predictions (USD)",
        "",
        f"Prices: {PRICE_NOTE}. Durations are modelled, not measured on Lambda: Lambda gives a function "
        f"memory/{LAMBDA_MB_PER_VCPU} MB of one vCPU's time; the handler runs one thread below 3,538 MB, so "
        f"its duration is the one-thread p50 measured here × max(1, {LAMBDA_MB_PER_VCPU} / memory) (the naive "
        "one: its whole "
        "handler's one-thread p50). arm64 is assumed as fast as this x86_64 machine (not measured). Billed ms "
        "rounded up; "
        "every request pays Lambda's and API Gateway's request fees, which dominate.",
        "",
        "| task | arch | memory MB | naive | fp32 (ms) | int8 (ms) | onnx (ms) | fp32, 64-text requests |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in results["cost"]:
        lines.append(
            f"| {row['task']} | {row['architecture']} | {row['memory_mb']} | {row['naive_single_usd']:.2f} | "
            + " | ".join(f"{row[f'{v}_single_usd']:.2f} ({row[f'{v}_single_ms']:.1f})" for v in VARIANTS)
            + f" | {row['fp32_batch64_usd']:.3f} |"
        )
    first_task, warm = next((task, measured["warm"]) for task, measured in tasks.items())
    lines += [
        "",
        f"Warm-up rule ({first_task}): {WARMUP_PINGS_PER_MONTH:,} pings a month (every 5 minutes), each billed "
        f"{max(1, math.ceil(warm['handler fp32 1t']['warmup_ms']))} ms (measured "
        f"{warm['handler fp32 1t']['warmup_ms']:.2f} ms): "
        + ", ".join(
            f"${w['usd_per_month']:.4f}/month at {w['memory_mb']} MB {w['architecture']}"
            for w in results["warmup_cost"]
        )
        + ". Logs, metrics and recycled environments: `python -m tools.idle_cost`.",
        "",
    ]
    if "custom" in results:
        lines += custom_markdown(results["custom"])
    return "\n".join(lines)


def _task_root(scratch: Path) -> Path:
    """The runtime's code as it is now, copied as the Dockerfile copies it (compiled too): edits made
    to the working tree while the bench runs do not reach the later runs."""
    task_root = scratch / "task-root"
    shutil.copytree(TASK_ROOT / "inference", task_root / "inference", ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(task_root / "inference", quiet=1)
    return task_root


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=RESULTS, help="directory for latest.json and latest.md")
    parser.add_argument(
        "--markdown-only", action="store_true", help="rewrite latest.md from latest.json, measure nothing"
    )
    parser.add_argument("--runs", type=int, default=RUNS, help=f"rounds of fresh processes (default {RUNS})")
    parser.add_argument(
        "--tasks",
        type=lambda value: tuple(value.split(",")),
        default=TASKS,
        help=f"comma-separated, of {', '.join(TASKS)} (default: all)",
    )
    parser.add_argument(
        "--custom-only",
        action="store_true",
        help="measure only the custom package's cold start; print it, write nothing",
    )
    args = parser.parse_args(argv)
    measured = [task for task in TASKS if task in args.tasks]
    if args.markdown_only:
        results = json.loads((args.output / "latest.json").read_text(encoding="utf-8"))
        (args.output / "latest.md").write_text(markdown(results), encoding="utf-8")
        return 0

    began = time.perf_counter()

    def say(message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    machine = machine_facts() | {"load_before": round(os.getloadavg()[0], 2)}
    if args.custom_only:
        with tempfile.TemporaryDirectory() as scratch:
            custom = measure_custom(
                args.runs,
                {"torch": [str(_task_root(Path(scratch))), str(installed(cache=IMAGE_TARGET_CACHE))]},
                Path(scratch),
                say,
            )
        print("\n".join(custom_markdown(custom)))
        return 0
    say("installing the layouts (cached after the first run)")
    sites = {
        "torch": installed(cache=IMAGE_TARGET_CACHE),
        "onnx": installed(ONNX_IMAGE_REQUIREMENTS, IMAGE_TARGET_CACHE),
        "naive": installed(NAIVE_REQUIREMENTS, NAIVE_TARGET_CACHE, constraints=None),
    }
    candidates = {
        "text-classification": MODEL_DIR / "transaction-classifier",
        "feature-extraction": MODEL_DIR / "embeddings",
        "token-classification": MODEL_DIR / "transaction-entities",
        "image-classification": MODEL_DIR / "digits",
    }
    # None only for a task not measured.
    packages = {task: package for task in measured if (package := candidates[task]) is not None}
    workloads = {task: Workload.for_task(task) for task in measured}
    reports: dict[str, dict[str, list[dict]]] = {task: {s.name: [] for s in SUBJECTS} for task in measured}
    with tempfile.TemporaryDirectory() as scratch:
        task_root = _task_root(Path(scratch))
        paths = {
            "torch": [str(task_root), str(sites["torch"])],
            "onnx": [str(task_root), str(sites["onnx"])],
            # training/: the digits' nn.Module, which the naive image baseline builds
            "naive": [str(BENCHMARKS), str(REPO / "training"), str(sites["naive"])],
        }

        def run(subject: Subject, task: str, mode: str) -> dict:
            return probe(subject, task, packages[task], mode, workloads[task], paths[subject.layout], Path(scratch))

        say("priming: every package file read once, one unmeasured start of each layout (and of the naive pipeline)")
        for package in packages.values():
            for path in package.rglob("*"):
                if path.is_file():
                    with path.open("rb") as handle:
                        while handle.read(1 << 24):
                            pass
        for subject, task in PRIMING:
            if task in measured:
                run(subject, task, "cold")
        for number in range(args.runs):
            say(f"run {number + 1}/{args.runs}: {len(measured) * len(SUBJECTS)} fresh processes")
            for task in measured:
                for subject in SUBJECTS:
                    reports[task][subject.name].append(run(subject, task, "warm"))
        custom = measure_custom(args.runs, paths, Path(scratch), say)
    say("int8 against fp32 on the test split, payload sizes")
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
        for task in measured
    }
    size = payload(sites, packages)
    quality = (
        int8_quality(packages)
        if {"text-classification", "feature-extraction", "token-classification"} <= set(measured)
        else None
    )
    machine["load_after"] = round(os.getloadavg()[0], 2)
    results = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine,
        "settings": {
            "runs": args.runs,
            "single_requests": SINGLE_REQUESTS,
            "batch_sizes": list(BATCH_SIZES),
            "texts_per_batch_size": TEXTS_PER_BATCH_SIZE,
            "bench_seconds": round(time.perf_counter() - began),
            "process_seconds": {
                task: {name: statistics.median(r["wall_seconds"] for r in runs) for name, runs in reports[task].items()}
                for task in measured
            },
        },
        "tasks": tasks,
        "payload": size,
        "int8_quality": quality,
        "cost": cost_table(tasks),
        "warmup_cost": warmup_cost(tasks[measured[0]]["warm"]),
        "prices": PRICE_NOTE,
        "goals": goals(tasks, size),
        "custom": custom,
    }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "latest.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (args.output / "latest.md").write_text(markdown(results), encoding="utf-8")
    say(f"wrote {args.output / 'latest.md'} in {results['settings']['bench_seconds']} s")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
