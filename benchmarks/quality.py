"""How far each int8 variant is from fp32, on the packages' own test splits (in-process, every core)."""

from __future__ import annotations

import os
from pathlib import Path

from training.common import read_split
from training.evaluate_entities import found_entities, scores
from training.train_entities import read_entities

# The tasks int8_quality compares: it runs only when all of them are measured.
TASKS = {"text-classification", "feature-extraction", "token-classification"}


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
