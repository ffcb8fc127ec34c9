"""The fields of a Hugging Face BERT config.json the runtime reads. No torch here: the onnx
backend (inference/onnx_bert.py) reads the config too."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class BertConfig:
    """The fields of config.json the network reads (the rest describe training)."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    pad_token_id: int | None
    id2label: dict[str, str]

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        raw = json.loads(path.read_text(encoding="utf-8"))
        # What this implementation computes; anything else must fail at load, not predict wrongly.
        expected = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}
        for key, value in expected.items():
            if raw.get(key, value) != value:
                raise ValueError(f"{path}: {key} is {raw[key]!r}; this runtime serves {key} {value!r} only")
        return cls(**{f.name: raw.get(f.name) for f in fields(cls)})

    @property
    def labels(self) -> list[str]:
        return [self.id2label[str(i)] for i in range(len(self.id2label))]
