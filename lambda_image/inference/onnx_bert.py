"""The same network as inference/bert.py, run by ONNX Runtime from model.onnx (written by
training/export_onnx.py). No torch: in an image without it, a cold start is ~4x shorter
(benchmarks/README.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime

from inference.bert_config import BertConfig


class OnnxBert:
    """model.onnx + config.json, with the interface of bert.BertForSequenceClassification
    that inference/model.py uses: `config` and `logits()`."""

    def __init__(self, model_dir: Path, threads: int) -> None:
        self.config = BertConfig.from_file(model_dir / "config.json")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        # One graph, run node after node: nothing for a second pool to run in parallel.
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(
            str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Logits, one row per text (int64 inputs, as exported)."""
        return self.session.run(["logits"], {"input_ids": input_ids, "attention_mask": attention_mask})[0]
