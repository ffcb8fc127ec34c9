"""`python -m benchmarks.run` (`make bench`): measure the runtime against the naive transformers path,
task by task, in one run, and write benchmarks/results/latest.json and latest.md.

The tasks: text-classification (model_artifacts/transaction-classifier), feature-extraction
(model_artifacts/embeddings), token-classification (model_artifacts/transaction-entities) and
image-classification (model_artifacts/digits; `--tasks` measures some of them only); then the
sections (benchmarks/sections.py: the custom demo package's cold start, ...); `--only NAME` measures
one section alone. Every process measured is a fresh `python -I -S` (benchmarks/probe.py) that sees
only the standard library and one installed layout: the image's (lambda_image/requirements.txt +
the task root), the onnx image's (lambda_image/requirements-onnx.txt + the task root) or the naive
baseline's (benchmarks/naive_requirements.txt + benchmarks/naive.py). The subjects take turns run
after run, so load from elsewhere on the machine falls on all of them alike; every figure is the
median over runs, and the goals are ratios against the baseline of the same task in the same run.

The jobs, one module each: measure.py (the processes and their medians), layouts.py (the installed
layouts and the images' payload), quality.py (int8 against fp32), cost.py (the Lambda cost model),
goals.py, report.py (the Markdown); this module only runs them in order.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import quality, sections
from benchmarks.cost import PRICE_NOTE, cost_table, warmup_cost
from benchmarks.goals import goals
from benchmarks.layouts import BENCHMARKS, LAYOUTS, Layouts, payload
from benchmarks.measure import (
    BATCH_SIZES,
    PACKAGES,
    RUNS,
    SINGLE_REQUESTS,
    TASKS,
    TEXTS_PER_BATCH_SIZE,
    Bench,
    machine_facts,
    measure_tasks,
)
from benchmarks.report import markdown

RESULTS = BENCHMARKS / "results"


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


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
        "--only",
        choices=list(sections.by_name()),
        help="measure only this section (benchmarks/sections.py); print it, write nothing",
    )
    args = parser.parse_args(argv)
    measured = [task for task in TASKS if task in args.tasks]
    if args.markdown_only:
        results = json.loads((args.output / "latest.json").read_text(encoding="utf-8"))
        (args.output / "latest.md").write_text(markdown(results), encoding="utf-8")
        return 0

    began = time.perf_counter()
    machine = machine_facts() | {"load_before": round(os.getloadavg()[0], 2)}
    if args.only:
        section = sections.by_name()[args.only]
        with tempfile.TemporaryDirectory() as scratch:
            bench = Bench(args.runs, Layouts(Path(scratch)), Path(scratch), say)
            print("\n".join(section.markdown(section.measure(bench))))
        return 0
    packages = {task: PACKAGES[task] for task in measured}
    with tempfile.TemporaryDirectory() as scratch:
        layouts = Layouts(Path(scratch))
        say("installing the layouts (cached after the first run)")
        for layout in LAYOUTS:
            layouts.site(layout)
        bench = Bench(args.runs, layouts, Path(scratch), say)
        tasks, process_seconds = measure_tasks(bench, packages)
        measured_sections = {section.NAME: section.measure(bench) for section in sections.SECTIONS}
    say("int8 against fp32 on the test split, payload sizes")
    size = payload(layouts, packages)
    int8_quality = quality.int8_quality(packages) if set(measured) >= quality.TASKS else None
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
            "process_seconds": process_seconds,
        },
        "tasks": tasks,
        "payload": size,
        "int8_quality": int8_quality,
        "cost": cost_table(tasks),
        "warmup_cost": warmup_cost(tasks[measured[0]]["warm"]),
        "prices": PRICE_NOTE,
        "goals": goals(tasks, size),
        **measured_sections,
    }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "latest.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (args.output / "latest.md").write_text(markdown(results), encoding="utf-8")
    say(f"wrote {args.output / 'latest.md'} in {results['settings']['bench_seconds']} s")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
