"""The text classifier: loads a Hugging Face model folder once and predicts batches.

This is the only module that knows about torch. It knows nothing about HTTP or events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer

# The Auto class imports only the architecture config.json names (BERT here), and costs the
# same cold start as importing BertForSequenceClassification directly (~2.5 s on top of torch,
# measured), while still loading any sequence-classification model a user brings.
from transformers import AutoModelForSequenceClassification
from transformers.utils import logging as transformers_logging

# Texts run through the network in chunks of this many, sorted by length, so a full batch of
# long texts (64 x 512 tokens) never needs the ~1.6 GB of attention scores one pass would.
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


class TextClassifier:
    """A sequence classifier over the files of one model folder (see notes/runtime-readme.md)."""

    def __init__(self, model_dir: Path, threads: int) -> None:
        torch.set_num_threads(threads)
        # Its "Loading weights" progress bar would be a non-JSON line in the function's logs.
        transformers_logging.disable_progress_bar()
        self.model = AutoModelForSequenceClassification.from_pretrained(model_dir, local_files_only=True)
        self.model.eval()
        config = self.model.config
        self.labels = [config.id2label[i] for i in range(config.num_labels)]
        card = json.loads((model_dir / "model_card.json").read_text(encoding="utf-8"))
        self.name = str(card["name"])
        self.version = str(card["version"])
        self.tokenizer = self._load_tokenizer(model_dir, config)

    @staticmethod
    def _load_tokenizer(model_dir: Path, config) -> Tokenizer:
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

    @torch.inference_mode()
    def predict(self, texts: list[str], top_k: int) -> list[Prediction]:
        """One prediction per text, in input order."""
        by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        probabilities = torch.empty(len(texts), len(self.labels))
        for start in range(0, len(texts), FORWARD_CHUNK):
            chunk = by_length[start : start + FORWARD_CHUNK]
            probabilities[chunk] = self._probabilities([texts[i] for i in chunk])
        scores, indices = probabilities.topk(top_k, dim=1)
        return [self._prediction(s, i) for s, i in zip(scores.tolist(), indices.tolist())]

    def _probabilities(self, texts: list[str]) -> torch.Tensor:
        encodings = self.tokenizer.encode_batch(texts)
        input_ids = torch.tensor([e.ids for e in encodings])
        attention_mask = torch.tensor([e.attention_mask for e in encodings])
        logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
        return logits.softmax(dim=1)

    def _prediction(self, scores: list[float], indices: list[int]) -> Prediction:
        ranked = [LabelScore(self.labels[i], score) for i, score in zip(indices, scores)]
        return Prediction(label=ranked[0].label, score=ranked[0].score, top_k=ranked)
