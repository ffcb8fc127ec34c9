"""Measures the packaged entities model on the test split, through the runtime that serves it.

    python -m training.evaluate_entities [--model-dir DIR] [--threads N]

An entity counts as found only if its label, start and end are exactly those of the data (entity
level, exact span: seqeval's strict counting, on characters rather than tokens); precision, recall
and F1 per label and over all. The test split's merchants are never in the training split
(training/generate_data.py splits by merchant), so the scores are for merchants the model has never
seen. Writes evaluation.json into the package, merges the headline metrics into model_card.json and
prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from inference.runtime import Runtime
from inference.settings import Settings
from training.common import TORCH_THREADS
from training.generate_data import ENTITY_LABELS
from training.train_entities import DEFAULT_OUTPUT_DIR, read_entities

BATCH = 64
# Misses written to evaluation.json, for a person to read.
MISSES_KEPT = 50


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_OUTPUT_DIR)
    parser.add_argument("--threads", type=int, default=TORCH_THREADS, help="torch threads (1 on a busy machine)")
    return parser.parse_args(argv)


def found_entities(runtime: Runtime, texts: list[str]) -> list[set[tuple[str, int, int]]]:
    """What the served package answers for each text, as (label, start, end)."""
    found = []
    for start in range(0, len(texts), BATCH):
        answer = runtime.answer({"texts": texts[start : start + BATCH]}).body
        found += [{(e["label"], e["start"], e["end"]) for e in p["entities"]} for p in answer["predictions"]]
    return found


def scores(truth: list[set], found: list[set]) -> dict:
    """Exact-span precision, recall and F1, over all entities and per label."""
    right: Counter[str] = Counter()
    said: Counter[str] = Counter()
    true: Counter[str] = Counter()
    for expected, answered in zip(truth, found, strict=True):
        for label, *_ in answered & expected:
            right[label] += 1
        for label, *_ in answered:
            said[label] += 1
        for label, *_ in expected:
            true[label] += 1

    def prf(r: int, s: int, t: int) -> dict:
        precision, recall = (r / s if s else 0.0), (r / t if t else 0.0)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": t}

    return {
        "all": prf(sum(right.values()), sum(said.values()), sum(true.values())),
        "per_label": {label: prf(right[label], said[label], true[label]) for label in ENTITY_LABELS},
    }


def evaluate(model_dir: Path, threads: int = TORCH_THREADS) -> dict:
    runtime = Runtime.load(Settings(MODEL_DIR=str(model_dir), TORCH_THREADS=threads))
    rows = read_entities("test")
    truth = [{(e["label"], e["start"], e["end"]) for e in row["entities"]} for row in rows]
    found = found_entities(runtime, [row["text"] for row in rows])
    misses = [
        {"text": row["text"], "expected": sorted(expected - answered), "answered": sorted(answered - expected)}
        for row, expected, answered in zip(rows, truth, found, strict=True)
        if expected != answered
    ]
    results = {
        "test": {
            "lines": len(rows),
            "merchants": len({row["group"] for row in rows}),
            **scores(truth, found),
            "lines_all_right": round(1 - len(misses) / len(rows), 4),
            "misses": misses[:MISSES_KEPT],
        }
    }
    (model_dir / "evaluation.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    card_path = model_dir / "model_card.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    test = results["test"]
    card["metrics"].update(
        {
            "test_entity_f1": test["all"]["f1"],
            "test_entity_precision": test["all"]["precision"],
            "test_entity_recall": test["all"]["recall"],
            "test_entity_f1_per_label": {label: s["f1"] for label, s in test["per_label"].items()},
            "test_lines": test["lines"],
            "test_merchants_unseen_in_training": test["merchants"],
        }
    )
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return results


def markdown_table(results: dict) -> str:
    test = results["test"]
    rows = ["| entity | precision | recall | F1 | test entities |", "|---|---:|---:|---:|---:|"]
    for label, s in [*test["per_label"].items(), ("**all**", test["all"])]:
        rows.append(f"| {label} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |")
    return "\n".join(rows) + (
        f"\n\nEntity F1 (exact span and label) on {test['lines']} test lines of {test['merchants']} merchants never"
        f" trained on: {test['all']['f1']:.3f}, MERCHANT {test['per_label']['MERCHANT']['f1']:.3f};"
        f" every entity right in {test['lines_all_right']:.3f} of the lines."
    )


def main() -> None:
    args = parse_args()
    print(markdown_table(evaluate(args.model_dir, args.threads)))


if __name__ == "__main__":
    main()
