"""text-classification: a label for each text, with scores (docs/api.md).

Single-label models score with a softmax; multi-label models (config.json's problem_type
multi_label_classification) with a sigmoid, and also answer every label at or above a threshold.
A single-label answer whose top score is under min_score (the request's, else the deployment's
DEFAULT_MIN_SCORE) has "label": null, so a caller can send what the model is unsure of to a person;
multi-label models have no min_score: their threshold already says which labels are given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from inference.encoder import TextEncoder
from inference.package import ModelPackage
from inference.schema import Contract, Defaults, Limits, ModelInfo, PositiveJsonInt, TextsRequest, json_int, with_limits

SCORE_DECIMALS = 4
DEFAULT_THRESHOLD = 0.5


class RankingRequest(TextsRequest):
    """What single- and multi-label requests share."""

    top_k: PositiveJsonInt | None = Field(None, description="how many labels to rank (default 3)")


class ClassificationRequest(RankingRequest):
    min_score: float | None = Field(
        None,
        ge=0,
        le=1,
        description='"label" is null when the top score is under this (default: the deployment\'s, 0 unless set)',
    )


class MultiLabelClassificationRequest(RankingRequest):
    threshold: float | None = Field(
        None, ge=0, le=1, description=f"labels scoring at least this are in labels (default {DEFAULT_THRESHOLD})"
    )


class LabelScore(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    score: float


class Classification(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str | None = Field(description="the highest-scoring label; null when its score is under min_score")
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
    return with_limits(
        base, limits, top_k=(top_k | None, Field(None, description="how many labels to rank (default 3)"))
    )


class Model:
    def __init__(self, package: ModelPackage, encoder: TextEncoder, limits: Limits, defaults: Defaults) -> None:
        self.encoder = encoder
        self.labels = package.labels
        self.multi_label = package.multi_label
        self.default_top_k = min(defaults.top_k, len(self.labels))
        # The deployment's default is for single-label packages; a multi-label one has its threshold.
        self.default_min_score = 0.0 if self.multi_label else defaults.min_score
        self.request_model = request_model(package, limits)

    def answer(self, request: Any) -> dict[str, Any]:
        threshold = getattr(request, "threshold", None)
        threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        min_score = getattr(request, "min_score", None)
        min_score = self.default_min_score if min_score is None else min_score
        probabilities = self.probabilities(request.batch)
        predictions = classifications(
            probabilities,
            self.labels,
            request.top_k or self.default_top_k,
            threshold if self.multi_label else None,
            min_score,
        )
        return {"predictions": predictions} if request.is_batch else predictions[0]

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Softmax (or sigmoid, multi-label) scores, one row per text, in input order."""
        probabilities = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        for chunk in self.encoder.run(texts):
            probabilities[chunk.indices] = _sigmoid(chunk.output) if self.multi_label else softmax(chunk.output)
        return probabilities


def classifications(
    probabilities: np.ndarray, labels: list[str], top_k: int, threshold: float | None = None, min_score: float = 0.0
) -> list[dict[str, Any]]:
    """One answer per row of scores: the best label (None when its score is under min_score), the
    top_k ranked and, given a threshold (multi-label models), every label scoring at least that.
    Shared with image-classification."""
    # Highest first; on a tie the stable sort ranks the lower label index first.
    ranked = np.argsort(-probabilities, axis=1, kind="stable")
    predictions = []
    for row, order in zip(probabilities.tolist(), ranked.tolist(), strict=True):
        top = [_label_score(labels[i], row[i]) for i in order[:top_k]]
        # The rounded score, as the caller sees it: "label" is null exactly when "score" < min_score.
        label = top[0]["label"] if top[0]["score"] >= min_score else None
        prediction: dict[str, Any] = {"label": label, "score": top[0]["score"], "top_k": top}
        if threshold is not None:
            prediction["labels"] = [_label_score(labels[i], row[i]) for i in order if row[i] >= threshold]
        predictions.append(prediction)
    return predictions


def _label_score(label: str, score: float) -> dict[str, Any]:
    return {"label": label, "score": round(score, SCORE_DECIMALS)}


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))  # shifted: exp cannot overflow
    probabilities: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return probabilities


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * logits))  # tanh form: no overflow warning for large logits
