"""feature-extraction: one embedding per text (docs/api.md).

The token embeddings are pooled as the package declares (model_card.json's pooling: mean over the
attention mask by default, cls or max) and scaled to unit length when it says normalize, as
sentence-transformers' Pooling and Normalize modules do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from inference.encoder import TextEncoder
from inference.package import ModelPackage
from inference.schema import Contract, Defaults, Limits, ModelInfo, TextsRequest, with_limits

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


CONTRACT = Contract(
    request=FeatureExtractionRequest,
    single=EmbeddingAnswer,
    batch=EmbeddingBatchAnswer,
    example={"texts": ["STARBUCKS COFFEE", "COSTA COFFEE", "SHELL OIL"]},
)


def request_model(package: ModelPackage, limits: Limits) -> type[TextsRequest]:
    return with_limits(FeatureExtractionRequest, limits)


class Model:
    def __init__(self, package: ModelPackage, encoder: TextEncoder, limits: Limits, defaults: Defaults) -> None:
        self.encoder = encoder
        self.pooling = package.pooling
        self.normalize = package.normalize
        self.request_model = request_model(package, limits)

    def answer(self, request: Any) -> dict[str, Any]:
        vectors = np.round(self.embeddings(request.batch), DECIMALS).tolist()
        dims = len(vectors[0])
        if request.is_batch:
            return {"embeddings": vectors, "dims": dims}
        return {"embedding": vectors[0], "dims": dims}

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
