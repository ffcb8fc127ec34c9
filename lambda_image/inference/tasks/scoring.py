"""Scores from a network's logits, shared by the tasks that rank labels (text, token and image
classification): softmax, sigmoid, and the ranked answer of one row of probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

SCORE_DECIMALS = 4


class LabelScore(BaseModel):
    """A label and its score, as the answers rank them."""

    model_config = ConfigDict(extra="forbid")
    label: str
    score: float


def softmax(logits: np.ndarray) -> np.ndarray:
    """Along the last axis."""
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))  # shifted: exp cannot overflow
    probabilities: np.ndarray = exp / exp.sum(axis=-1, keepdims=True)
    return probabilities


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * logits))  # tanh form: no overflow warning for large logits


def rounded(score: float) -> float:
    return round(score, SCORE_DECIMALS)


def label_score(label: str, score: float) -> dict[str, Any]:
    return {"label": label, "score": rounded(score)}


def classifications(
    probabilities: np.ndarray, labels: list[str], top_k: int, threshold: float | None = None, min_score: float = 0.0
) -> list[dict[str, Any]]:
    """One answer per row of scores: the best label (None when its score is under min_score), the
    top_k ranked and, given a threshold (multi-label models), every label scoring at least that."""
    # Highest first; on a tie the stable sort ranks the lower label index first.
    ranked = np.argsort(-probabilities, axis=1, kind="stable")
    predictions = []
    for row, order in zip(probabilities.tolist(), ranked.tolist(), strict=True):
        top = [label_score(labels[i], row[i]) for i in order[:top_k]]
        # The rounded score, as the caller sees it: "label" is null exactly when "score" < min_score.
        label = top[0]["label"] if top[0]["score"] >= min_score else None
        prediction: dict[str, Any] = {"label": label, "score": top[0]["score"], "top_k": top}
        if threshold is not None:
            prediction["labels"] = [label_score(labels[i], row[i]) for i in order if row[i] >= threshold]
        predictions.append(prediction)
    return predictions
