"""feature-extraction: one embedding per text (docs/api.md).

The token embeddings are pooled as the package declares (model_card.json's pooling: mean over the
attention mask by default, cls or max) and scaled to unit length when it says normalize, as
sentence-transformers' Pooling and Normalize modules do.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from inference.package import ModelPackage, PackageError
from inference.schema import ModelInfo, TextsRequest
from inference.settings import Settings
from inference.tasks.base import TextTask

DECIMALS = 6


class FeatureExtractionRequest(TextsRequest):
    pass


class EmbeddingAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    embedding: list[float]
    dims: int = Field(description="the embedding's length")
    model: ModelInfo


class EmbeddingBatchAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    embeddings: list[list[float]] = Field(description="one per text, in input order")
    dims: int
    model: ModelInfo


POOLING = ("mean", "cls", "max")


class FeatureExtraction(TextTask):
    name = "feature-extraction"
    request = FeatureExtractionRequest
    single = EmbeddingAnswer
    batch = EmbeddingBatchAnswer
    example: ClassVar[dict[str, Any]] = {"texts": ["STARBUCKS COFFEE", "COSTA COFFEE", "SHELL OIL"]}
    has_labels = False

    def __init__(self, package: ModelPackage, settings: Settings) -> None:
        super().__init__(package, settings)
        self.pooling = package.pooling
        self.normalize = package.normalize

    @classmethod
    def check(cls, package: ModelPackage) -> None:
        super().check(package)
        if package.pooling not in POOLING:
            raise PackageError(
                f"{package.directory}/model_card.json: pooling {package.pooling!r} is not one of {', '.join(POOLING)}"
            )

    def answer(self, request: FeatureExtractionRequest) -> BaseModel:
        vectors = np.round(self.embeddings(request.batch), DECIMALS).tolist()
        dims = len(vectors[0])
        body = {"embeddings": vectors, "dims": dims} if request.is_batch else {"embedding": vectors[0], "dims": dims}
        return self.answer_of(body, request.is_batch)

    def embeddings(self, texts: list[str]) -> np.ndarray:
        """One pooled (and, if declared, normalized) vector per text, in input order."""
        rows: dict[int, np.ndarray] = {}
        for chunk in self.encoder.run(texts):
            for index, vector in zip(chunk.indices, self._pool(chunk.output, chunk.attention_mask), strict=True):
                rows[index] = vector
        vectors = np.stack([rows[i] for i in range(len(texts))])
        if self.normalize:
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def _pool(self, tokens: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        mask = attention_mask[:, :, None].astype(tokens.dtype)
        if self.pooling == "cls":
            return tokens[:, 0]
        pooled: np.ndarray
        if self.pooling == "max":
            pooled = np.where(mask > 0, tokens, np.finfo(tokens.dtype).min).max(axis=1)
        else:
            pooled = (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return pooled
