"""The text classifier: loads a Hugging Face model folder once and predicts batches.

It knows nothing about HTTP or events. The network runs on one of two backends, each imported
only when chosen, so that the image built for onnx (no torch in it) never imports torch:
torch (inference/bert.py, the default) or ONNX Runtime (inference/onnx_bert.py).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
from tokenizers import Tokenizer

from inference.bert_config import BertConfig

if TYPE_CHECKING:
    from inference.bert import BertForSequenceClassification

# fp32: the weights as trained. int8: every Linear layer quantized dynamically (int8 weights,
# activations quantized per batch): ~3x faster on CPU, with its accuracy on the test split
# tested against fp32's and reported, with the agreement, in benchmarks/results/.
Variant = Literal["fp32", "int8"]
# torch: model.safetensors on inference/bert.py. onnx: model.onnx on ONNX Runtime, fp32 only.
Backend = Literal["torch", "onnx"]
# Texts run through the network in chunks of this many, sorted by length, so that each chunk
# is padded only to its own longest text.
FORWARD_CHUNK = 16


@dataclass(frozen=True)
class LabelScore:
    label: str
    score: float


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    top_k: list[LabelScore]


class Network(Protocol):
    """What the classifier needs of a backend: the model's config, and logits (float32, one row
    per text) for a padded batch of int64 token ids and attention mask."""

    config: BertConfig

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


class TextClassifier:
    """A sequence classifier over the files of one model folder (what it needs: model_artifacts/README.md)."""

    def __init__(self, model_dir: Path, threads: int, variant: Variant = "fp32", backend: Backend = "torch") -> None:
        self.model = _load_network(model_dir, threads, variant, backend)
        self.variant = variant
        self.backend = backend
        self.labels = self.model.config.labels
        card = json.loads((model_dir / "model_card.json").read_text(encoding="utf-8"))
        self.name = str(card["name"])
        self.version = str(card["version"])
        self.tokenizer = self._load_tokenizer(model_dir, self.model.config)

    @staticmethod
    def _load_tokenizer(model_dir: Path, config: BertConfig) -> Tokenizer:
        """The fast tokenizer from tokenizer.json, set to truncate at the model's limit and pad to
        the longest text of each batch (a saved tokenizer.json may carry fixed-length padding)."""
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        max_length = config.max_position_embeddings
        tokenizer_config = model_dir / "tokenizer_config.json"
        if tokenizer_config.exists():
            declared = json.loads(tokenizer_config.read_text(encoding="utf-8")).get("model_max_length")
            if isinstance(declared, int):
                max_length = min(max_length, declared)
        tokenizer.enable_truncation(max_length=max_length)
        # Any id would do where the config names none: the attention mask hides padding.
        pad_id = config.pad_token_id or 0
        tokenizer.enable_padding(pad_id=pad_id, pad_token=tokenizer.id_to_token(pad_id))
        return tokenizer

    def predict(self, texts: list[str], top_k: int) -> list[Prediction]:
        """One prediction per text, in input order."""
        by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        probabilities = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        for start in range(0, len(texts), FORWARD_CHUNK):
            chunk = by_length[start : start + FORWARD_CHUNK]
            probabilities[chunk] = _softmax(self.logits([texts[i] for i in chunk]))
        # Highest first; on a tie the stable sort ranks the lower label index first.
        indices = np.argsort(-probabilities, axis=1, kind="stable")[:, :top_k]
        scores = np.take_along_axis(probabilities, indices, axis=1)
        return [self._prediction(s, i) for s, i in zip(scores.tolist(), indices.tolist())]

    def logits(self, texts: list[str]) -> np.ndarray:
        """The network's logits for `texts` as one batch, padded to its longest text."""
        encodings = self.tokenizer.encode_batch(texts)
        input_ids = np.array([e.ids for e in encodings], dtype=np.int64)
        attention_mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return self.model.logits(input_ids, attention_mask)

    def _prediction(self, scores: list[float], indices: list[int]) -> Prediction:
        ranked = [LabelScore(self.labels[i], score) for i, score in zip(indices, scores)]
        return Prediction(label=ranked[0].label, score=ranked[0].score, top_k=ranked)


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))  # shifted: exp cannot overflow
    return exp / exp.sum(axis=1, keepdims=True)


def _load_network(model_dir: Path, threads: int, variant: Variant, backend: Backend) -> Network:
    """The network on `backend`, importing that backend only."""
    if backend == "onnx":
        if variant != "fp32":
            raise ValueError(f"the onnx backend serves the fp32 variant only, not {variant}")
        from inference.onnx_bert import OnnxBert

        return OnnxBert(model_dir, threads)
    import torch

    from inference.bert import BertForSequenceClassification

    torch.set_num_threads(threads)
    model = BertForSequenceClassification.from_folder(model_dir)
    return _quantized(model) if variant == "int8" else model


def _quantized(model: BertForSequenceClassification) -> BertForSequenceClassification:
    """Dynamic int8 quantization of the Linear layers, with one weight scale per output channel
    (per-tensor scales flipped twice as many test-split predictions); embeddings and LayerNorms
    stay fp32. torch.ao.quantization warns that it is deprecated in favour of torchao, one more
    dependency for the same kernels; the warnings would be non-JSON lines in the logs."""
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, inplace=True)
