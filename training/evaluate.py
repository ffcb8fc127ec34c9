"""Evaluates the model folder on the test split and on the hand-written holdout lines.

    python -m training.evaluate [--model-dir DIR]

Writes evaluation.json (accuracy, per-label precision/recall/F1, the holdout's misses) and
confusion_matrix.png into the model folder, merges the headline metrics into model_card.json,
and prints a Markdown table of the per-label scores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
import torch
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from training.common import (
    DEFAULT_MODEL_DIR,
    ECE_BINS,
    TORCH_THREADS,
    expected_calibration_error,
    predict_logits,
    read_holdout,
    read_split,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--threads", type=int, default=TORCH_THREADS, help="torch threads (1 on a busy machine)")
    return parser.parse_args(argv)


def evaluate(model_dir: Path, threads: int = TORCH_THREADS) -> dict:
    torch.set_num_threads(threads)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]

    test = read_split("test")
    truth = [row["label"] for row in test]
    test_probabilities = predict_logits(model, tokenizer, [row["text"] for row in test]).softmax(dim=1)
    predicted = [labels[int(i)] for i in test_probabilities.argmax(dim=1)]
    report = classification_report(truth, predicted, labels=labels, output_dict=True, zero_division=0)

    holdout = read_holdout()
    truth_holdout = [row["label"] for row in holdout]
    holdout_probabilities = predict_logits(model, tokenizer, [row["text"] for row in holdout]).softmax(dim=1)
    holdout_confidence, holdout_indices = holdout_probabilities.max(dim=1)
    holdout_misses = [
        {"text": row["text"], "label": row["label"], "predicted": labels[int(i)], "confidence": round(float(c), 3)}
        for row, i, c in zip(holdout, holdout_indices, holdout_confidence, strict=True)
        if labels[int(i)] != row["label"]
    ]

    results = {
        "test": {
            "lines": len(test),
            "accuracy": round(accuracy_score(truth, predicted), 4),
            "ece": round(expected_calibration_error(test_probabilities, _indices(truth, labels)), 4),
            "ece_bins": ECE_BINS,
            "mean_confidence": round(float(test_probabilities.max(dim=1).values.mean()), 4),
            "macro_f1": round(report["macro avg"]["f1-score"], 4),
            "per_label": {
                label: {
                    "precision": round(report[label]["precision"], 4),
                    "recall": round(report[label]["recall"], 4),
                    "f1": round(report[label]["f1-score"], 4),
                    "support": int(report[label]["support"]),
                }
                for label in labels
            },
        },
        "holdout_handwritten": {
            "lines": len(holdout),
            "accuracy": round(1 - len(holdout_misses) / len(holdout), 4),
            "ece": round(expected_calibration_error(holdout_probabilities, _indices(truth_holdout, labels)), 4),
            "mean_confidence": round(float(holdout_confidence.mean()), 4),
            "misses": holdout_misses,
        },
    }
    (model_dir / "evaluation.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    plot_confusion_matrix(confusion_matrix(truth, predicted, labels=labels), labels, model_dir / "confusion_matrix.png")
    merge_into_card(model_dir / "model_card.json", results)
    return results


def _indices(truth: list[str], labels: list[str]) -> torch.Tensor:
    return torch.tensor([labels.index(label) for label in truth])


def plot_confusion_matrix(matrix, labels: list[str], path: Path) -> None:
    figure, axes = plt.subplots(figsize=(8, 7), dpi=110)
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title("Test split: confusion matrix (lines)")
    threshold = matrix.max() / 2
    for row in range(len(labels)):
        for column in range(len(labels)):
            if matrix[row, column]:
                color = "white" if matrix[row, column] > threshold else "black"
                axes.text(column, row, str(matrix[row, column]), ha="center", va="center", color=color, fontsize=9)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def merge_into_card(card_path: Path, results: dict) -> None:
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["metrics"].update(
        {
            "test_accuracy": results["test"]["accuracy"],
            "test_ece": results["test"]["ece"],
            "test_macro_f1": results["test"]["macro_f1"],
            "test_f1_per_label": {label: s["f1"] for label, s in results["test"]["per_label"].items()},
            "holdout_handwritten_accuracy": results["holdout_handwritten"]["accuracy"],
            "holdout_handwritten_ece": results["holdout_handwritten"]["ece"],
        }
    )
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")


def markdown_table(results: dict) -> str:
    rows = ["| label | precision | recall | F1 | test lines |", "|---|---|---|---|---|"]
    for label, s in results["test"]["per_label"].items():
        rows.append(f"| {label} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |")
    test, holdout = results["test"], results["holdout_handwritten"]
    rows.append(
        f"| **all (accuracy / macro F1)** | | {test['accuracy']:.3f} | {test['macro_f1']:.3f} | {test['lines']} |"
    )
    return "\n".join(rows) + (
        f"\n\nTest accuracy {test['accuracy']:.3f}, expected calibration error {test['ece']:.3f}"
        f" ({test['ece_bins']} bins, mean confidence {test['mean_confidence']:.3f})."
        f"\nHand-written holdout: {holdout['accuracy']:.3f} of {holdout['lines']} lines"
        f" (calibration error {holdout['ece']:.3f}, mean confidence {holdout['mean_confidence']:.3f})."
    )


def main() -> None:
    args = parse_args()
    results = evaluate(args.model_dir, args.threads)
    print(markdown_table(results))
    for miss in results["holdout_handwritten"]["misses"]:
        print(
            f"  holdout miss: {miss['text']!r} is {miss['label']}, predicted {miss['predicted']}"
            f" ({miss['confidence']:.2f})"
        )


if __name__ == "__main__":
    main()
