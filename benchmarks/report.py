"""The Markdown report (results/latest.md), rendered from the results alone (results/latest.json):
`python -m benchmarks.run --markdown-only` re-renders it without measuring."""

from __future__ import annotations

import math

from benchmarks.cost import PRICE_NOTE, WARMUP_PINGS_PER_MONTH
from benchmarks.measure import VARIANTS, overhead_us
from benchmarks.sections import SECTIONS
from inference.settings import LAMBDA_MB_PER_VCPU


def markdown(results: dict) -> str:
    """The whole report: goals, cold starts, warm figures, int8 quality, payload, cost, then the sections."""
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
        "Overhead: what a request costs beside its forward, p50 − model forward p50 (decoding, validation, the log "
        "line and metrics, the scores, the JSON answer; and the forward's own slowdown amid that work, its caches "
        "cold). "
        f"Batch throughput: {settings['texts_per_batch_size']} texts at each batch size, through the whole handler.",
        "",
        "| task | subject | p50 ms | p95 ms | model forward p50 ms | overhead µs | p50 / naive forward | texts/s at "
        f"batch {sizes} | peak RSS MB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for task, measured in tasks.items():
        warm = measured["warm"]
        for name, w in warm.items():
            baseline = warm[f"naive {name.rsplit(' ', 1)[1]}"]["forward_p50_ms"]
            forward = f"{w['forward_p50_ms']:.1f}" if "forward_p50_ms" in w else "–"
            overhead = f"{overhead_us(w):.0f}" if "forward_p50_ms" in w else "–"
            if "texts_per_s" in w:
                throughput = " / ".join(f"{w['texts_per_s'][str(s)]:.0f}" for s in settings["batch_sizes"])
            else:
                throughput = f"{w['singles_texts_per_s']:.0f} (single only)"
            rss = f"{w['peak_rss_mb']:.0f}" if "peak_rss_mb" in w else "–"
            lines.append(
                f"| {task} | {name} | {w['p50_ms']:.1f} | {w['p95_ms']:.1f} | {forward} | {overhead} "
                f"| {w['p50_ms'] / baseline:.2f} | {throughput} | {rss} |"
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
    for section in SECTIONS:
        if section.NAME in results:
            lines += section.markdown(results[section.NAME])
    return "\n".join(lines)
