"""text-classification: a label for each text, with scores (docs/api.md).

Single-label models score with a softmax; multi-label models (config.json's problem_type
multi_label_classification) with a sigmoid, and also answer every label at or above a threshold.
A single-label answer whose top score is under min_score (the request's, else the deployment's
DEFAULT_MIN_SCORE) has "label": null, so a caller can send what the model is unsure of to a person;
multi-label models have no min_score: their threshold already says which labels are given.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from inference.package import ModelPackage
from inference.schema import Limits, ModelInfo, PositiveJsonInt, TextsRequest, json_int, with_limits
from inference.settings import Settings
from inference.tasks.base import TextTask
from inference.tasks.scoring import LabelScore, classifications, sigmoid, softmax

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


class TextClassification(TextTask):
    name = "text-classification"
    request = ClassificationRequest
    single = ClassificationAnswer
    batch = ClassificationBatchAnswer
    example: ClassVar[dict[str, Any]] = {"text": "STARBUCKS STORE 10432 SEATTLE WA"}

    def __init__(self, package: ModelPackage, settings: Settings) -> None:
        super().__init__(package, settings)
        self.labels = package.labels
        self.multi_label = package.multi_label
        self.default_top_k = min(settings.default_top_k, len(self.labels))
        # The deployment's default is for single-label packages; a multi-label one has its threshold.
        self.default_min_score = 0.0 if self.multi_label else settings.default_min_score

    @classmethod
    def request_model_for(cls, package: ModelPackage, limits: Limits) -> type[BaseModel]:
        base = MultiLabelClassificationRequest if package.multi_label else ClassificationRequest
        top_k = json_int(ge=1, le=len(package.labels))
        return with_limits(
            base, limits, top_k=(top_k | None, Field(None, description="how many labels to rank (default 3)"))
        )

    def answer(self, request: ClassificationRequest | MultiLabelClassificationRequest) -> BaseModel:
        probabilities = self.probabilities(request.batch)
        if isinstance(request, MultiLabelClassificationRequest):
            threshold = DEFAULT_THRESHOLD if request.threshold is None else request.threshold
            predictions = classifications(probabilities, self.labels, request.top_k or self.default_top_k, threshold)
        else:
            min_score = self.default_min_score if request.min_score is None else request.min_score
            predictions = classifications(
                probabilities, self.labels, request.top_k or self.default_top_k, min_score=min_score
            )
        body = {"predictions": predictions} if request.is_batch else predictions[0]
        return self.answer_of(body, request.is_batch)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Softmax (or sigmoid, multi-label) scores, one row per text, in input order."""
        probabilities = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        for chunk in self.encoder.run(texts):
            probabilities[chunk.indices] = sigmoid(chunk.output) if self.multi_label else softmax(chunk.output)
        return probabilities
