"""text-classification: a label for each text, with scores (docs/api.md).

Single-label models score with a softmax; multi-label models (config.json's problem_type
multi_label_classification) with a sigmoid, and also answer every label at or above a threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from inference.encoder import TextEncoder
from inference.package import ModelPackage
from inference.schema import Contract, Limits, ModelInfo, TextsRequest, json_int, with_limits

SCORE_DECIMALS = 4
DEFAULT_THRESHOLD = 0.5


class ClassificationRequest(TextsRequest):
    top_k: json_int(ge=1) | None = Field(None, description="how many labels to rank (default 3)")


class MultiLabelClassificationRequest(ClassificationRequest):
    threshold: float | None = Field(
        None, ge=0, le=1, description=f"labels scoring at least this are in labels (default {DEFAULT_THRESHOLD})"
    )


class LabelScore(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    score: float


class Classification(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(description="the highest-scoring label")
    score: float
    top_k: list[LabelScore] = Field(description="the top_k labels, highest first")
    labels: list[LabelScore] | None = Field(
        None, description="multi-label models only: every label scoring at least the threshold, highest first"
    )


class ClassificationAnswer(Classification):
    model: ModelInfo


class ClassificationBatchAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    predictions: list[Classification] = Field(description="one per text, in input order")
    model: ModelInfo


CONTRACT = Contract(
    request=ClassificationRequest,
    single=ClassificationAnswer,
    batch=ClassificationBatchAnswer,
    example={"text": "STARBUCKS STORE 10432 SEATTLE WA"},
)


def request_model(package: ModelPackage, limits: Limits) -> type[TextsRequest]:
    base = MultiLabelClassificationRequest if package.multi_label else ClassificationRequest
    top_k = json_int(ge=1, le=len(package.labels))
    return with_limits(base, limits, top_k=(top_k | None, Field(None, description="how many labels to rank (default 3)")))


class Model:
    def __init__(self, package: ModelPackage, encoder: TextEncoder, limits: Limits, *, default_top_k: int) -> None:
        self.encoder = encoder
        self.labels = package.labels
        self.multi_label = package.multi_label
        self.default_top_k = min(default_top_k, len(self.labels))
        self.request_model = request_model(package, limits)

    def answer(self, request: Any) -> dict[str, Any]:
        threshold = getattr(request, "threshold", None)
        threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        probabilities = self.probabilities(request.batch)
        predictions = classifications(
            probabilities, self.labels, request.top_k or self.default_top_k, threshold if self.multi_label else None
        )
        return {"predictions": predictions} if request.is_batch else predictions[0]

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Softmax (or sigmoid, multi-label) scores, one row per text, in input order."""
        probabilities = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        for chunk in self.encoder.run(texts):
            probabilities[chunk.indices] = _sigmoid(chunk.output) if self.multi_label else softmax(chunk.output)
        return probabilities


def classifications(probabilities: np.ndarray, labels: list[str], top_k: int, threshold: float | None = None) -> list[dict[str, Any]]:
    """One answer per row of scores: the best label, the top_k ranked and, given a threshold (multi-label
    models), every label scoring at least that. Shared with image-classification."""
    # Highest first; on a tie the stable sort ranks the lower label index first.
    ranked = np.argsort(-probabilities, axis=1, kind="stable")
    predictions = []
    for row, order in zip(probabilities.tolist(), ranked.tolist()):
        top = [_label_score(labels[i], row[i]) for i in order[:top_k]]
        prediction: dict[str, Any] = {"label": top[0]["label"], "score": top[0]["score"], "top_k": top}
        if threshold is not None:
            prediction["labels"] = [_label_score(labels[i], row[i]) for i in order if row[i] >= threshold]
        predictions.append(prediction)
    return predictions


def _label_score(label: str, score: float) -> dict[str, Any]:
    return {"label": label, "score": round(score, SCORE_DECIMALS)}


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))  # shifted: exp cannot overflow
    return exp / exp.sum(axis=1, keepdims=True)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * logits))  # tanh form: no overflow warning for large logits
