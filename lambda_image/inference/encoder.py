"""The network of a text package: its fast tokenizer and its exported graph (inference/graphs.py).

The graph was exported by `make package` from the transformers model (docs/models.md), so the
runtime knows no architecture: it feeds input_ids and attention_mask and gets the graph's one
output (logits, or token embeddings).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from tokenizers import Encoding, Tokenizer

from inference.graphs import Graph, load_graph
from inference.package import Backend, ModelPackage, Variant

# Texts run through the network in chunks of this many, sorted by length, so that each chunk
# is padded only to its own longest text (benchmarks/README.md measured the size).
FORWARD_CHUNK = 16


@dataclass(frozen=True)
class Chunk:
    """Some texts run as one padded batch: their positions in the request, their encodings, the
    attention mask and the graph's output for them."""

    indices: list[int]
    encodings: list[Encoding]
    attention_mask: np.ndarray
    output: np.ndarray


class TextEncoder:
    """Tokenizer + graph of one package, loaded once."""

    def __init__(self, package: ModelPackage, backend: Backend, variant: Variant, threads: int) -> None:
        path = str(package.graph(backend, variant))
        self.graph: Graph = load_graph(path, backend, threads)
        self.tokenizer = load_tokenizer(package)

    def run(self, texts: list[str]) -> Iterator[Chunk]:
        """The texts in chunks of similar length, each padded to its own longest text."""
        by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(texts), FORWARD_CHUNK):
            indices = by_length[start : start + FORWARD_CHUNK]
            encodings = self.tokenizer.encode_batch([texts[i] for i in indices])
            input_ids = np.array([e.ids for e in encodings], dtype=np.int64)
            attention_mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            yield Chunk(indices, encodings, attention_mask, self.graph(input_ids, attention_mask))


def load_tokenizer(package: ModelPackage) -> Tokenizer:
    """The fast tokenizer from tokenizer.json, truncating at the model's limit and padding to the
    longest text of each batch (a saved tokenizer.json may carry fixed-length padding)."""
    tokenizer = Tokenizer.from_file(str(package.directory / "tokenizer.json"))
    # max_tokens: what `make package` found the model accepts (RoBERTa-style models, for one, number
    # positions from pad_token_id + 1, so two entries of their position table are never used).
    limits = [package.max_tokens, package.config.get("max_position_embeddings")]
    tokenizer_config = package.directory / "tokenizer_config.json"
    if tokenizer_config.is_file():
        limits.append(json.loads(tokenizer_config.read_text(encoding="utf-8")).get("model_max_length"))
    max_length = min(value for value in limits if isinstance(value, int) and value > 0)
    tokenizer.enable_truncation(max_length=max_length)
    pad_id = package.pad_token_id
    tokenizer.enable_padding(pad_id=pad_id, pad_token=tokenizer.id_to_token(pad_id) or "[PAD]")
    return tokenizer
