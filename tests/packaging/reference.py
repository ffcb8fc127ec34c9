"""transformers' (and sentence-transformers') own answers for a Hugging Face folder, computed here
from the folder alone, one text at a time without padding: what the runtime must reproduce. Written
independently of tools/packager.py's parity check, which is one of the things under test."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
import transformers


@dataclass(frozen=True)
class Reference:
    """What transformers answers for TEXTS: probabilities (classification), entities (token
    classification: dicts of label, score, start, end) or embeddings (feature extraction)."""

    task: str
    probabilities: np.ndarray | None = None
    entities: list[list[dict[str, Any]]] | None = None
    embeddings: np.ndarray | None = None


def reference(folder: Path, task: str, texts: list[str]) -> Reference:
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    if task == "text-classification":
        model = transformers.AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True).eval()
        multi_label = model.config.problem_type == "multi_label_classification"
        rows = []
        with torch.no_grad():
            for text in texts:
                logits = model(**tokenizer(text, return_tensors="pt")).logits[0].double()
                rows.append((torch.sigmoid(logits) if multi_label else torch.softmax(logits, dim=-1)).numpy())
        return Reference(task, probabilities=np.stack(rows))
    if task == "token-classification":
        model = transformers.AutoModelForTokenClassification.from_pretrained(folder, local_files_only=True).eval()
        pipeline = transformers.pipeline(
            "token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="simple", device="cpu"
        )
        entities = [
            [
                {"label": e["entity_group"], "score": float(e["score"]), "start": int(e["start"]), "end": int(e["end"])}
                for e in pipeline(text)
            ]
            for text in texts
        ]
        return Reference(task, entities=entities)
    if task == "feature-extraction":
        if (folder / "modules.json").is_file():
            from sentence_transformers import SentenceTransformer

            sentence_model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
            vectors = sentence_model.encode(texts, batch_size=1, convert_to_numpy=True)
            return Reference(task, embeddings=np.asarray(vectors, dtype=np.float64))
        model = transformers.AutoModel.from_pretrained(folder, local_files_only=True).eval()
        rows = []
        with torch.no_grad():
            for text in texts:
                # One text, no padding: mean pooling over the attention mask is the plain mean.
                tokens = model(**tokenizer(text, return_tensors="pt")).last_hidden_state[0]
                rows.append(tokens.double().mean(dim=0).numpy())
        return Reference(task, embeddings=np.stack(rows))
    raise ValueError(f"unknown task {task!r}")


def token_counter(folder: Path) -> Callable[[str, int, int], int]:
    """token_counter(folder)(text, start, end): how many of the text's (non-special) tokens lie in
    [start, end), an entity's length in tokens."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)

    def count(text: str, start: int, end: int) -> int:
        encoding = tokenizer(text, return_offsets_mapping=True, return_special_tokens_mask=True)
        return sum(
            1
            for (s, e), special in zip(encoding["offset_mapping"], encoding["special_tokens_mask"], strict=True)
            if not special and start <= s and e <= end and e > s
        )

    return count
