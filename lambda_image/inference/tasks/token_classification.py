"""token-classification: the entities in each text (docs/api.md).

Word pieces are joined into entities as transformers' token-classification pipeline does with
aggregation_strategy="simple": each token takes its highest-scoring label, neighbours with the same
entity type join unless the later one is a B- tag, an entity's score is the mean of its tokens',
and "O" groups are dropped. start and end are character offsets into the request's text, so an
entity's text is always text[start:end].
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from tokenizers import Encoding

from inference.package import ModelPackage
from inference.schema import ModelInfo, TextsRequest
from inference.settings import Settings
from inference.tasks.base import TextTask
from inference.tasks.scoring import rounded, softmax

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


class TokenClassification(TextTask):
    name = "token-classification"
    request = TokenClassificationRequest
    single = TokenClassificationAnswer
    batch = TokenClassificationBatchAnswer
    example: ClassVar[dict[str, Any]] = {"text": "STARBUCKS STORE 10432 SEATTLE WA"}

    def __init__(self, package: ModelPackage, settings: Settings) -> None:
        super().__init__(package, settings)
        self.labels = package.labels

    def answer(self, request: TokenClassificationRequest) -> BaseModel:
        texts = request.batch
        predictions: list[dict[str, Any]] = [{}] * len(texts)
        for chunk in self.encoder.run(texts):
            for row, (index, encoding) in enumerate(zip(chunk.indices, chunk.encodings, strict=True)):
                entities = self.entities(texts[index], encoding, softmax(chunk.output[row]))
                predictions[index] = {"entities": entities}
        body = {"predictions": predictions} if request.is_batch else predictions[0]
        return self.answer_of(body, request.is_batch)

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
            score = rounded(float(np.mean([token[1] for token in group])))
            entities.append({"label": label, "score": score, "text": text[start:end], "start": start, "end": end})
        return entities


def _tag(label: str) -> tuple[str, str]:
    """("B" or "I", entity type); a label without a B-/I- prefix continues like an I- tag."""
    if label.startswith(("B-", "I-")):
        return label[0], label[2:]
    return "I", label
