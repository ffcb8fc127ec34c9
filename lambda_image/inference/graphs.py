"""A package's exported graph on one of two backends (docs/models.md): model.pt / model.int8.pt on
torch (TorchScript), or model.onnx on ONNX Runtime. Numpy arrays in, the graph's one output out, in
the order the graph names its inputs. Each backend is imported only when chosen, so the image
built for onnx (no torch in it) never imports torch.
"""

from __future__ import annotations

import warnings
from typing import Protocol

import numpy as np

from inference.package import Backend


class Graph(Protocol):
    def __call__(self, *inputs: np.ndarray) -> np.ndarray: ...


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
            # torch.jit.load has no annotations.
            self._module = torch.jit.load(path, map_location="cpu").eval()  # type: ignore[no-untyped-call]

    def __call__(self, *inputs: np.ndarray) -> np.ndarray:
        torch = self._torch
        # Without the profiling executor's optimization passes: they cost ~100 ms on the first calls
        # (and again on new shapes) and bought nothing measurable for these graphs.
        with torch.inference_mode(), torch.jit.optimized_execution(False):
            output = self._module(*(torch.from_numpy(array) for array in inputs))
        result: np.ndarray = output.numpy()
        return result


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
        self._inputs = [node.name for node in self._session.get_inputs()]
        self._output = self._session.get_outputs()[0].name

    def __call__(self, *inputs: np.ndarray) -> np.ndarray:
        # onnxruntime is untyped (pyproject.toml): its run() answers Any.
        result: np.ndarray = self._session.run([self._output], dict(zip(self._inputs, inputs, strict=False)))[0]
        return result


def load_graph(path: str, backend: Backend, threads: int) -> Graph:
    return TorchScriptGraph(path, threads) if backend == "torch" else OnnxGraph(path, threads)
