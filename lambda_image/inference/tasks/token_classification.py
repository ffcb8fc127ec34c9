"""token-classification: the entities in each text (docs/api.md).

Word pieces are joined into entities as transformers' token-classification pipeline does with
aggregation_strategy="simple": each token takes its highest-scoring label, neighbours with the same
entity type join unless the later one is a B- tag, an entity's score is the mean of its tokens',
and "O" groups are dropped. start and end are character offsets into the request's text, so an
entity's text is always text[start:end].
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from tokenizers import Encoding

from inference.encoder import TextEncoder
from inference.package import ModelPackage
from inference.schema import Contract, Defaults, Limits, ModelInfo, TextsRequest, with_limits

SCORE_DECIMALS = 4
OUTSIDE = "O"


class TokenClassificationRequest(TextsRequest):
    pass


class Entity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(description="the entity type (B-/I- prefixes removed)")
    score: float = Field(description="the mean of its tokens' scores")
    text: str = Field(description="text[start:end]")
    start: int = Field(description="offset of its first character in the request's text")
    end: int = Field(description="offset after its last character")


class Entities(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entities: list[Entity]


class TokenClassificationAnswer(Entities):
    model: ModelInfo


class TokenClassificationBatchAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    predictions: list[Entities] = Field(description="one per text, in input order")
    model: ModelInfo


CONTRACT = Contract(
    request=TokenClassificationRequest,
    single=TokenClassificationAnswer,
    batch=TokenClassificationBatchAnswer,
    example={"text": "STARBUCKS STORE 10432 SEATTLE WA"},
)


def request_model(package: ModelPackage, limits: Limits) -> type[TextsRequest]:
    return with_limits(TokenClassificationRequest, limits)


class Model:
    def __init__(self, package: ModelPackage, encoder: TextEncoder, limits: Limits, defaults: Defaults) -> None:
        self.encoder = encoder
        self.labels = package.labels
        self.request_model = request_model(package, limits)

    def answer(self, request: Any) -> dict[str, Any]:
        texts = request.batch
        predictions: list[dict[str, Any]] = [{}] * len(texts)
        for chunk in self.encoder.run(texts):
            for row, (index, encoding) in enumerate(zip(chunk.indices, chunk.encodings, strict=True)):
                entities = self.entities(texts[index], encoding, _softmax(chunk.output[row]))
                predictions[index] = {"entities": entities}
        return {"predictions": predictions} if request.is_batch else predictions[0]

    def entities(self, text: str, encoding: Encoding, scores: np.ndarray) -> list[dict[str, Any]]:
        """The pipeline's gather_pre_entities, then group_entities, on one text's tokens."""
        best = scores.argmax(axis=1)
        tokens = [
            (self.labels[best[i]], float(scores[i, best[i]]), start, end)
            for i, (special, padding, (start, end)) in enumerate(
                zip(encoding.special_tokens_mask, encoding.attention_mask, encoding.offsets, strict=True)
            )
            if not special and padding
        ]
        groups: list[list[tuple[str, float, int, int]]] = []
        for token in tokens:
            bi, tag = _tag(token[0])
            if groups and bi != "B" and tag == _tag(groups[-1][-1][0])[1]:
                groups[-1].append(token)
            else:
                groups.append([token])
        entities = []
        for group in groups:
            label = group[0][0].split("-", 1)[-1]
            if label == OUTSIDE:
                continue
            start, end = group[0][2], group[-1][3]
            score = round(float(np.mean([token[1] for token in group])), SCORE_DECIMALS)
            entities.append({"label": label, "score": score, "text": text[start:end], "start": start, "end": end})
        return entities


def _tag(label: str) -> tuple[str, str]:
    """("B" or "I", entity type); a label without a B-/I- prefix continues like an I- tag."""
    if label.startswith(("B-", "I-")):
        return label[0], label[2:]
    return "I", label


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probabilities: np.ndarray = exp / exp.sum(axis=-1, keepdims=True)
    return probabilities
