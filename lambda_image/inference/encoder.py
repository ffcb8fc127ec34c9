"""The network of a package: its fast tokenizer and its exported graph, on one of two backends.

The graph was exported by `make package` from the transformers model (docs/models.md), so the
runtime knows no architecture: it feeds input_ids and attention_mask and gets the graph's one
output (logits, or token embeddings). Each backend is imported only when chosen, so the image
built for onnx (no torch in it) never imports torch.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from tokenizers import Encoding, Tokenizer

from inference.package import Backend, ModelPackage, Variant

# Texts run through the network in chunks of this many, sorted by length, so that each chunk
# is padded only to its own longest text (benchmarks/README.md measured the size).
FORWARD_CHUNK = 16


class Graph(Protocol):
    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


class TorchScriptGraph:
    """model.pt / model.int8.pt on torch."""

    def __init__(self, path: str, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self._torch = torch
        with warnings.catch_warnings():
            # TorchScript is deprecated in favour of torch.export, whose loader costs seconds of cold
            # start (docs/models.md); the warning would be a non-JSON line in the logs.
            warnings.simplefilter("ignore", DeprecationWarning)
            self._module = torch.jit.load(path, map_location="cpu").eval()

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        # Without the profiling executor's optimization passes: they cost ~100 ms on the first calls
        # (and again on new shapes) and bought nothing measurable for these graphs.
        with torch.inference_mode(), torch.jit.optimized_execution(False):
            output = self._module(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
        return output.numpy()


class OnnxGraph:
    """model.onnx on ONNX Runtime."""

    def __init__(self, path: str, threads: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        # One graph, run node after node: nothing for a second pool to run in parallel.
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self._output = self._session.get_outputs()[0].name

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self._session.run([self._output], {"input_ids": input_ids, "attention_mask": attention_mask})[0]


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
        self.graph: Graph = TorchScriptGraph(path, threads) if backend == "torch" else OnnxGraph(path, threads)
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
