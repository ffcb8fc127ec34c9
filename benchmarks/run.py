"""`python -m benchmarks.run` (`make bench`): measure the handler against the naive baseline, in one
run, and write benchmarks/results/latest.json and latest.md.

Every process measured is a fresh `python -I -S` (benchmarks/probe.py) that sees only the standard
library and one installed layout: the image's (lambda_image/requirements.txt + the task root), the
onnx image's (lambda_image/requirements-onnx.txt + the task root) or the naive baseline's
(benchmarks/naive_requirements.txt + benchmarks/naive.py). The subjects take
turns run after run, so load from elsewhere on the machine falls on all of them alike; every
figure is the median over runs, and the goals are ratios against the baseline of the same run.
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tools.image_layout import ONNX_IMAGE_REQUIREMENTS, REPO, installed, lambda_env
from inference.settings import LAMBDA_MB_PER_VCPU
from local.lambda_context import LocalLambdaContext
from local.events import rest_api_event
from tools.idle_cost import LAMBDA_GB_SECOND, LAMBDA_REQUEST
from training.common import read_split

BENCHMARKS = Path(__file__).resolve().parent
RESULTS = BENCHMARKS / "results"
PROBE = BENCHMARKS / "probe.py"
NAIVE_REQUIREMENTS = BENCHMARKS / "naive_requirements.txt"
NAIVE_TARGET_CACHE = REPO / ".cache" / "bench-naive"
MODEL_DIR = REPO / "model_artifacts"
TASK_ROOT = REPO / "lambda_image"

COLD_RUNS = 5
WARM_RUNS = 3
SINGLE_REQUESTS = 100
BATCH_SIZES = (1, 8, 32, 64)
TEXTS_PER_BATCH_SIZE = 128  # each batch size serves this many texts per run (at least 3 requests)
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
    "cold_start": 0.5,  # handler / naive, at most
    "warm_p50": 1.0,  # handler p50 / naive raw forward p50 (same threads), at most
    "batch64_vs_singles": 4.0,  # texts/s of 64-text requests / of single-text requests, at least
    "peak_rss_mb": 500,  # at most
    "payload_gb": 1.2,  # at most
}


@dataclass(frozen=True)
class Subject:
    """One way of serving: the handler in a variant, backend and thread count, or the naive baseline."""

    name: str
    kind: str  # "handler" or "naive"
    variant: str = "fp32"
    threads: int = 0  # 0: what a function of 2048 MB gets (handler) or torch's default (naive)
    backend: str = "torch"  # the handler's; "onnx" runs in the onnx image's layout (no torch)

    @property
    def layout(self) -> str:
        """Which installed layout the probe sees: "naive", "torch" or "onnx"."""
        return "naive" if self.kind == "naive" else self.backend

    def env(self, scratch: Path) -> dict[str, str]:
        env = lambda_env(
            scratch,
            MODEL_VARIANT=self.variant,
            TORCH_THREADS=str(self.threads),
            MODEL_BACKEND=self.backend,
        )
        if self.kind == "naive" and self.threads:
            env["OMP_NUM_THREADS"] = str(self.threads)
        return env


COLD_SUBJECTS = [
    Subject("naive", "naive"),
    Subject("handler fp32", "handler"),
    Subject("handler int8", "handler", "int8"),
    Subject("handler onnx", "handler", backend="onnx"),
]
WARM_SUBJECTS = [
    Subject(f"{name} {threads}t", kind, variant, threads, backend)
    for threads in (1, 2)
    for name, kind, variant, backend in (
        ("naive fp32", "naive", "fp32", "torch"),
        ("handler fp32", "handler", "fp32", "torch"),
        ("handler int8", "handler", "int8", "torch"),
        ("handler onnx", "handler", "fp32", "onnx"),
    )
]


@dataclass
class Workload:
    singles: list[dict]
    batches: dict[int, list[dict]]
    context: dict = field(default_factory=lambda: dataclasses.asdict(LocalLambdaContext()))

    @classmethod
    def from_test_split(cls) -> Workload:
        """Real statement lines (the test split), as REST API (v1) proxy events."""
        texts = [row["text"] for row in read_split("test")]

        def event(body: dict) -> dict:
            return rest_api_event(json.dumps(body), headers={"Content-Type": "application/json"})

        singles = [event({"text": texts[i % len(texts)]}) for i in range(SINGLE_REQUESTS)]
        batches = {}
        for size in BATCH_SIZES:
            requests = max(3, TEXTS_PER_BATCH_SIZE // size)
            batches[size] = [
                event({"texts": [texts[(r * size + i) % len(texts)] for i in range(size)]}) for r in range(requests)
            ]
        return cls(singles, batches)


def probe(subject: Subject, mode: str, workload: Workload, paths: list[str], scratch: Path) -> dict:
    """One fresh process; its report with the phase stamps turned into seconds since spawn."""
    request = {
        "subject": subject.kind,
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
        env=subject.env(scratch),
        cwd=scratch,
        timeout=PROBE_TIMEOUT_SECONDS,
    )
    if run.returncode != 0:
        raise RuntimeError(f"{subject.name} ({mode}) exited with {run.returncode}:\n{run.stderr[-3000:]}")
    report = json.loads(run.stdout.strip().splitlines()[-1])
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
    }
    if "forwards" in reports[0]:
        summary["forward_p50_ms"] = median_of(reports, lambda r: percentile(r["forwards"], 0.5) * 1000)
        summary["forward_p95_ms"] = median_of(reports, lambda r: percentile(r["forwards"], 0.95) * 1000)
    if "batches" in reports[0]:
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


def model_bytes(unused_weights: str) -> int:
    """The model folder as the image carries it: without the plots, the README and the weights
    file of the other backend (lambda_image/Dockerfile drops it)."""
    return directory_bytes(MODEL_DIR, skip=lambda p: p.suffix == ".png" or p.name in ("README.md", unused_weights))


def payload(image_site: Path, naive_site: Path, onnx_site: Path) -> dict:
    """What the image adds to the base image: runtime dependencies, model, handler package; for
    the torch image and for the onnx one (BACKEND=onnx)."""
    model = model_bytes(unused_weights="model.onnx")
    onnx_model = model_bytes(unused_weights="model.safetensors")
    handler = directory_bytes(TASK_ROOT / "inference", skip=lambda p: "__pycache__" in p.parts)
    dependencies = directory_bytes(image_site)
    onnx_dependencies = directory_bytes(onnx_site)
    biggest = sorted(((directory_bytes(p), p.name) for p in image_site.iterdir() if p.is_dir()), reverse=True)[:6]
    return {
        "dependencies_gb": dependencies / 1e9,
        "model_gb": model / 1e9,
        "handler_mb": handler / 1e6,
        "total_gb": (dependencies + model + handler) / 1e9,
        "naive_total_gb": (directory_bytes(naive_site) + model) / 1e9,
        "onnx_dependencies_gb": onnx_dependencies / 1e9,
        "onnx_model_gb": onnx_model / 1e9,
        "onnx_total_gb": (onnx_dependencies + onnx_model + handler) / 1e9,
        "largest_packages_mb": {name: size / 1e6 for size, name in biggest},
        "cuda_files": cuda_files(image_site),
    }


def int8_quality() -> dict:
    """Agreement of the int8 variant with fp32, and both accuracies, on the whole test split."""
    sys.path.insert(0, str(TASK_ROOT))  # where the image's LAMBDA_TASK_ROOT puts the package
    from inference.model import TextClassifier

    rows = read_split("test")
    texts = [row["text"] for row in rows]
    labels = {
        variant: [p.label for p in TextClassifier(MODEL_DIR, os.cpu_count() or 1, variant).predict(texts, top_k=1)]
        for variant in ("fp32", "int8")
    }
    return {
        "test_texts": len(rows),
        "agreement": sum(a == b for a, b in zip(labels["fp32"], labels["int8"])) / len(rows),
        "fp32_accuracy": sum(p == row["label"] for p, row in zip(labels["fp32"], rows)) / len(rows),
        "int8_accuracy": sum(p == row["label"] for p, row in zip(labels["int8"], rows)) / len(rows),
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


def cost_table(warm: dict) -> list[dict]:
    """$ per 1M predictions from the one-thread warm durations (single requests, and 64-text batches)."""
    rows = []
    for architecture in ("x86_64", "arm64"):
        for memory_mb in MEMORY_SIZES_MB:
            row = {"architecture": architecture, "memory_mb": memory_mb}
            for subject, key in (("naive fp32 1t", "naive"), ("handler fp32 1t", "fp32"), ("handler int8 1t", "int8")):
                single_ms = lambda_duration_ms(warm[subject]["p50_ms"], memory_mb)
                row[f"{key}_single_ms"] = single_ms
                row[f"{key}_single_usd"] = usd_per_million(single_ms, memory_mb, architecture, 1)
                if key != "naive":
                    batch_ms = lambda_duration_ms(warm[subject]["batch_p50_ms"]["64"], memory_mb)
                    row[f"{key}_batch64_usd"] = usd_per_million(batch_ms, memory_mb, architecture, 64)
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


def goals(cold: dict, warm: dict, size: dict) -> list[dict]:
    naive_cold = cold["naive"]["total"]
    rows = [
        ("cold start, handler fp32 / naive", cold["handler fp32"]["total"] / naive_cold, "≤", GOALS["cold_start"]),
        ("cold start, handler int8 / naive", cold["handler int8"]["total"] / naive_cold, "≤", GOALS["cold_start"]),
        ("cold start, handler onnx / naive", cold["handler onnx"]["total"] / naive_cold, "≤", GOALS["cold_start"]),
    ]
    for variant in ("fp32", "int8"):
        for threads in (1, 2):
            ratio = warm[f"handler {variant} {threads}t"]["p50_ms"] / warm[f"naive fp32 {threads}t"]["forward_p50_ms"]
            rows.append((f"warm p50, handler {variant} / naive raw forward, {threads} thread(s)", ratio, "≤", GOALS["warm_p50"]))
    for variant in ("fp32", "int8"):
        w = warm[f"handler {variant} 1t"]
        rows.append(
            (f"batch-64 / single-text throughput, {variant}, 1 thread", w["texts_per_s"]["64"] / w["singles_texts_per_s"], "≥", GOALS["batch64_vs_singles"])
        )
    rss = max(warm[name]["peak_rss_mb"] for name in warm if name.startswith("handler"))
    rows.append(("serving peak RSS, handler (MB, worst subject)", rss, "≤", GOALS["peak_rss_mb"]))
    rows.append(("runtime payload (GB), no CUDA files", size["total_gb"], "≤", GOALS["payload_gb"]))
    return [
        {"goal": name, "measured": value, "target": f"{sign} {target}", "met": value <= target if sign == "≤" else value >= target}
        for name, value, sign, target in rows
    ] + [{"goal": "no CUDA library in the payload", "measured": len(size["cuda_files"]), "target": "= 0", "met": not size["cuda_files"]}]


def markdown(results: dict) -> str:
    cold, warm, size, quality = results["cold"], results["warm"], results["payload"], results["int8_quality"]
    machine = results["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {machine['cpu']} ({machine['cores']} cores), Python {machine['python']}, torch {machine['torch']}, "
        f"{results['date']}. Load average before/after: {machine['load_before']} / {machine['load_after']} "
        "(the machine is shared: absolute times are noisy, the ratios compare subjects measured in turn in the same run).",
        "",
        "## Goals",
        "",
        "| goal | measured | target | met |",
        "| --- | ---: | ---: | :---: |",
    ]
    lines += [f"| {g['goal']} | {g['measured']:.2f} | {g['target']} | {'yes' if g['met'] else '**no**'} |" for g in results["goals"]]
    lines += [
        "",
        f"## Cold start (fresh process to first answered request, median of {COLD_RUNS} runs, seconds)",
        "",
        "| subject | interpreter | imports | model load | first inference | total | × naive |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, c in cold.items():
        lines.append(
            f"| {name} | {c['interpreter']:.2f} | {c['imports']:.2f} | {c['model_load']:.2f} | {c['first_inference']:.3f} "
            f"| **{c['total']:.2f}** | {c['total'] / cold['naive']['total']:.2f} |"
        )
    lines += [
        "",
        f"## Warm latency and throughput (median of {WARM_RUNS} runs of {SINGLE_REQUESTS} single-text requests each)",
        "",
        "Handler: REST API (v1) event in, JSON response out, logs and metrics included. Naive: its whole handler, "
        "and its raw forward alone (inputs tokenized beforehand, padded to 128 tokens).",
        "",
        "| subject | p50 ms | p95 ms | raw forward p50 ms | texts/s at batch " + " / ".join(map(str, BATCH_SIZES)) + " | 64-text vs single | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, w in warm.items():
        forward = f"{w['forward_p50_ms']:.1f}" if "forward_p50_ms" in w else "–"
        if "texts_per_s" in w:
            throughput = " / ".join(f"{w['texts_per_s'][str(s)]:.0f}" for s in BATCH_SIZES)
            batch_gain = f"{w['texts_per_s']['64'] / w['singles_texts_per_s']:.1f}×"
        else:
            throughput, batch_gain = f"{w['singles_texts_per_s']:.0f} (single only)", "–"
        lines.append(
            f"| {name} | {w['p50_ms']:.1f} | {w['p95_ms']:.1f} | {forward} | {throughput} | {batch_gain} | {w['peak_rss_mb']:.0f} |"
        )
    lines += ["", "Threads 1 vs 2 (p50 of single requests, texts/s at batch 64):", ""]
    for kind in ("handler fp32", "handler int8"):
        one, two = warm[f"{kind} 1t"], warm[f"{kind} 2t"]
        lines.append(
            f"- {kind}: p50 {one['p50_ms']:.1f} ms with 1 thread, {two['p50_ms']:.1f} ms with 2 "
            f"(speed ×{one['p50_ms'] / two['p50_ms']:.2f}); batch 64 {one['texts_per_s']['64']:.0f} → "
            f"{two['texts_per_s']['64']:.0f} texts/s (×{two['texts_per_s']['64'] / one['texts_per_s']['64']:.2f})"
        )
    lines += [
        "",
        "## int8 variant on the test split",
        "",
        f"{quality['test_texts']} texts: int8 agrees with fp32 on {quality['agreement']:.1%}; accuracy fp32 "
        f"{quality['fp32_accuracy']:.1%}, int8 {quality['int8_accuracy']:.1%}.",
        "",
        "## Payload (what the image adds to the Lambda base image)",
        "",
        f"- runtime dependencies {size['dependencies_gb']:.2f} GB + model {size['model_gb']:.3f} GB + handler "
        f"{size['handler_mb']:.2f} MB = **{size['total_gb']:.2f} GB** (naive torch + transformers + model: "
        f"{size['naive_total_gb']:.2f} GB)",
    ]
    if "onnx_total_gb" in size:  # results from before the onnx backend have none
        lines.append(
            f"- onnx backend (BACKEND=onnx, no torch): runtime dependencies {size['onnx_dependencies_gb']:.2f} GB + "
            f"model.onnx {size['onnx_model_gb']:.3f} GB + handler = **{size['onnx_total_gb']:.2f} GB**"
        )
    lines += [
        "- largest packages (MB): " + ", ".join(f"{n} {mb:.0f}" for n, mb in size["largest_packages_mb"].items()),
        "- CUDA libraries (libcudart, libcublas, libcudnn, libnccl, ...) or nvidia-* packages: "
        + (", ".join(size["cuda_files"]) if size["cuda_files"] else "none"),
        "",
        "## Cost per 1M predictions (USD)",
        "",
        f"Prices: {PRICE_NOTE}. Durations are modelled, not measured on Lambda: Lambda gives a function "
        f"memory/{LAMBDA_MB_PER_VCPU} MB of one vCPU's time; the handler runs one torch thread below 3,538 MB, so "
        f"its duration is the one-thread p50 measured here × max(1, {LAMBDA_MB_PER_VCPU} / memory). arm64 is assumed as fast as this "
        "x86_64 machine (not measured: Graviton may be slower or faster for these kernels). Billed ms rounded up; "
        "every request pays Lambda's and API Gateway's request fees.",
        "",
        "| arch | memory MB | naive single | fp32 single (ms) | int8 single (ms) | fp32 64-text requests | int8 64-text requests |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in results["cost"]:
        lines.append(
            f"| {row['architecture']} | {row['memory_mb']} | {row['naive_single_usd']:.2f} "
            f"| {row['fp32_single_usd']:.2f} ({row['fp32_single_ms']:.1f}) | {row['int8_single_usd']:.2f} ({row['int8_single_ms']:.1f}) "
            f"| {row['fp32_batch64_usd']:.3f} | {row['int8_batch64_usd']:.3f} |"
        )
    warmup = results["warmup_cost"]
    lines += [
        "",
        f"Warm-up rule: {WARMUP_PINGS_PER_MONTH:,} pings a month (every 5 minutes), each billed "
        f"{max(1, math.ceil(warm['handler fp32 1t']['warmup_ms']))} ms (measured {warm['handler fp32 1t']['warmup_ms']:.2f} ms): "
        + ", ".join(f"${w['usd_per_month']:.4f}/month at {w['memory_mb']} MB {w['architecture']}" for w in warmup)
        + ". Logs, metrics and recycled environments: `python -m tools.idle_cost`.",
        "",
    ]
    return "\n".join(lines)


def machine_facts() -> dict:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor(),
    )
    import torch

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=RESULTS, help="directory for latest.json and latest.md")
    parser.add_argument("--markdown-only", action="store_true", help="rewrite latest.md from latest.json, measure nothing")
    args = parser.parse_args(argv)
    if args.markdown_only:
        results = json.loads((args.output / "latest.json").read_text(encoding="utf-8"))
        (args.output / "latest.md").write_text(markdown(results), encoding="utf-8")
        return 0

    def say(message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    machine = machine_facts() | {"load_before": round(os.getloadavg()[0], 2)}
    say("installing the layouts (cached after the first run)")
    image_site, naive_site = installed(), installed(NAIVE_REQUIREMENTS, NAIVE_TARGET_CACHE, constraints=None)
    onnx_site = installed(ONNX_IMAGE_REQUIREMENTS)
    compileall.compile_dir(TASK_ROOT / "inference", quiet=1)  # as the Dockerfile does
    paths = {
        "torch": [str(TASK_ROOT), str(image_site)],
        "onnx": [str(TASK_ROOT), str(onnx_site)],
        "naive": [str(BENCHMARKS), str(naive_site)],
    }
    workload = Workload.from_test_split()
    cold_reports = {s.name: [] for s in COLD_SUBJECTS}
    warm_reports = {s.name: [] for s in WARM_SUBJECTS}
    with tempfile.TemporaryDirectory() as scratch:
        say("priming: one unmeasured start of each layout, so every measured start finds its files in the page cache")
        for subject in COLD_SUBJECTS:
            probe(subject, "cold", workload, paths[subject.layout], Path(scratch))
        for run in range(COLD_RUNS):
            say(f"cold start, run {run + 1}/{COLD_RUNS}")
            for subject in COLD_SUBJECTS:
                cold_reports[subject.name].append(probe(subject, "cold", workload, paths[subject.layout], Path(scratch)))
        for run in range(WARM_RUNS):
            say(f"warm, run {run + 1}/{WARM_RUNS}")
            for subject in WARM_SUBJECTS:
                warm_reports[subject.name].append(probe(subject, "warm", workload, paths[subject.layout], Path(scratch)))
    say("int8 agreement on the test split, payload size")
    cold = {name: summarize_cold(reports) for name, reports in cold_reports.items()}
    warm = {name: summarize_warm(reports) for name, reports in warm_reports.items()}
    size = payload(image_site, naive_site, onnx_site)
    machine["load_after"] = round(os.getloadavg()[0], 2)
    results = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine,
        "cold": cold,
        "warm": warm,
        "payload": size,
        "int8_quality": int8_quality(),
        "cost": cost_table(warm),
        "warmup_cost": warmup_cost(warm),
        "prices": PRICE_NOTE,
        "goals": goals(cold, warm, size),
    }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "latest.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (args.output / "latest.md").write_text(markdown(results), encoding="utf-8")
    say(f"wrote {args.output / 'latest.md'}")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
