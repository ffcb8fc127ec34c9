"""Exports the model folder's network to model.onnx, what the onnx backend serves (MODEL_BACKEND=onnx).

    python training/export_onnx.py [--model-dir DIR]

The module exported is the runtime's own plain-torch network (lambda_image/inference/bert.py),
loaded from config.json + model.safetensors, so model.onnx computes what the torch backend
serves. Inputs input_ids and attention_mask (int64, batch and sequence axes dynamic), output
logits. Before it returns, the script checks ONNX Runtime's logits against torch's on lines of
the test split, and fails if they differ by MAX_LOGIT_DIFF or more.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

if __package__ in (None, ""):  # run as `python training/export_onnx.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from training.common import DEFAULT_MODEL_DIR, REPO_ROOT, TORCH_THREADS, read_split  # noqa: E402

sys.path.insert(0, str(REPO_ROOT / "lambda_image"))  # the runtime's package, as the image lays it out
from inference.bert import BertForSequenceClassification  # noqa: E402
from inference.model import TextClassifier  # noqa: E402

MAX_LOGIT_DIFF = 1e-4
# Lines of the test split the check runs: one padded batch, then the first alone (unpadded: the
# torch network skips the attention mask there, the exported graph never does).
CHECK_LINES = 16


class ExportMismatch(RuntimeError):
    pass


def export(model_dir: Path) -> Path:
    """Writes model_dir/model.onnx (one file, weights inside) and returns its path."""
    model = BertForSequenceClassification.from_folder(model_dir)
    # A padded example: the graph is traced on the masked path, which every input then takes.
    input_ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])
    attention_mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    path = model_dir / "model.onnx"
    # The exporter warns that the two inputs' axes share a name: they do on purpose (one batch).
    warnings.filterwarnings("ignore", message="# The axis name")
    torch.onnx.export(
        model,
        (input_ids, attention_mask),
        str(path),
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_shapes={"input_ids": {0: batch, 1: sequence}, "attention_mask": {0: batch, 1: sequence}},
        dynamo=True,
        external_data=False,
        verbose=False,
    )
    return path


def max_logit_diff(model_dir: Path, batches: list[list[str]]) -> float:
    """The largest absolute difference between ONNX Runtime's and torch's logits over `batches`
    of texts, each tokenized and padded as the runtime does it."""
    torch_classifier = TextClassifier(model_dir, TORCH_THREADS, backend="torch")
    onnx_classifier = TextClassifier(model_dir, TORCH_THREADS, backend="onnx")
    return max(float(np.abs(onnx_classifier.logits(texts) - torch_classifier.logits(texts)).max()) for texts in batches)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    model_dir = parser.parse_args(argv).model_dir
    path = export(model_dir)
    texts = [row["text"] for row in read_split("test")[:CHECK_LINES]]
    diff = max_logit_diff(model_dir, [texts, texts[:1]])
    if not diff < MAX_LOGIT_DIFF:
        path.unlink()
        raise ExportMismatch(
            f"{path}: ONNX Runtime's logits differ from torch's by {diff:.2e} (limit {MAX_LOGIT_DIFF:.0e}); removed"
        )
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB); logits match torch's within {diff:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
