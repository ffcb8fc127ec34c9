"""The custom demo package (model_artifacts/merchant-normalizer, its own predictor.py), a section of
the bench (benchmarks/sections.py): its cold start, the handler in the image's layout against the
plain script that loads its nn.Module (benchmarks/naive_custom.py) in the same layout (it needs
torch and the predictor's pydantic).

At 1 thread, fp32 only: the package has no int8 or onnx graph. Warm, the handler's answers are
compared with its predictor's own predict on requests validated beforehand (the overhead of the
runtime around it); the naive baseline is measured cold only, as its answer is that same call.
"""

from __future__ import annotations

import json

from benchmarks.goals import GOALS
from benchmarks.layouts import BENCHMARKS
from benchmarks.measure import (
    MODEL_DIR,
    SINGLE_REQUESTS,
    Bench,
    Subject,
    Workload,
    overhead_us,
    summarize_cold,
    summarize_warm,
)
from local.events import rest_api_event
from tools.image_layout import REPO
from training.common import read_split

NAME = "custom"
TASK = "custom"  # the package's task (model_card.json)
PACKAGE = MODEL_DIR / "merchant-normalizer"
SUBJECTS = [Subject("naive 1t", "naive"), Subject("handler fp32 1t", "handler")]


def workload() -> Workload:
    """The statement lines of the test split, as the custom demo's requests ({"sentence": ...}); cold
    starts answer the first."""
    texts = [row["text"] for row in read_split("test")]
    events = [
        rest_api_event(json.dumps({"sentence": text}), headers={"Content-Type": "application/json"})
        for text in texts[:SINGLE_REQUESTS]
    ]
    return Workload(events, {})


def measure(bench: Bench) -> dict:
    requests = workload()
    reports: dict[str, list[dict]] = {subject.name: [] for subject in SUBJECTS}
    torch_paths = bench.layouts.paths("torch")
    # The plain script: benchmarks/ (naive_custom.py) and the image's packages.
    subject_paths = {"handler": torch_paths, "naive": [str(BENCHMARKS), torch_paths[1]]}
    for subject in SUBJECTS:  # unmeasured: the package's files and modules read once
        bench.probe(subject, TASK, PACKAGE, "cold", requests, subject_paths[subject.kind])
    for number in range(bench.runs):
        bench.say(f"custom package, run {number + 1}/{bench.runs}: {len(SUBJECTS)} fresh processes")
        for subject in SUBJECTS:
            mode = "warm" if subject.kind == "handler" else "cold"
            reports[subject.name].append(
                bench.probe(subject, TASK, PACKAGE, mode, requests, subject_paths[subject.kind])
            )
    cold = {name.removesuffix(" 1t"): summarize_cold(runs_) for name, runs_ in reports.items()}
    warm = summarize_warm(reports["handler fp32 1t"])
    ratio = cold["handler fp32"]["total"] / cold["naive"]["total"]
    card = json.loads((PACKAGE / "model_card.json").read_text(encoding="utf-8"))
    return {
        "package": {"name": card["name"], "path": str(PACKAGE.relative_to(REPO))},
        "cold": cold,
        "warm": {"handler fp32 1t": warm},
        "goal": {
            "goal": "cold start / naive",
            "measured": ratio,
            "target": f"≤ {GOALS['cold_start']}",
            "met": ratio <= GOALS["cold_start"],
        },
    }


def markdown(custom: dict) -> list[str]:
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
    if "warm" in custom:  # results from before the custom package's warm figures were measured have none
        warm = custom["warm"]["handler fp32 1t"]
        lines += [
            "",
            f"Warm, 1 thread, {warm['runs']} runs of single requests: handler p50 {warm['p50_ms']:.1f} ms "
            f"(p95 {warm['p95_ms']:.1f}), its predictor's predict alone {warm['forward_p50_ms']:.1f} ms: "
            f"{overhead_us(warm):.0f} µs of overhead per request.",
        ]
    return lines
