"""training/export_onnx.py on the built model: model.onnx computes what the torch network computes."""

import shutil

import numpy as np
import pytest

from inference.model import TextClassifier
from training import export_onnx
from training.common import DEFAULT_MODEL_DIR, read_split

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A copy of model_artifacts/ (without its model.onnx) with a freshly exported model.onnx."""
    model_dir = tmp_path_factory.mktemp("model")
    shutil.copytree(DEFAULT_MODEL_DIR, model_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("model.onnx", "*.png"))
    assert export_onnx.main(["--model-dir", str(model_dir)]) == 0
    return model_dir


def test_onnx_logits_and_labels_match_torch_on_the_whole_test_split(exported):
    texts = [row["text"] for row in read_split("test")]
    torch_classifier = TextClassifier(exported, 2, backend="torch")
    onnx_classifier = TextClassifier(exported, 2, backend="onnx")
    by_length = sorted(texts, key=len)
    for start in range(0, len(by_length), 64):
        batch = by_length[start : start + 64]
        np.testing.assert_allclose(onnx_classifier.logits(batch), torch_classifier.logits(batch), rtol=0, atol=1e-4)
    torch_labels = [p.label for p in torch_classifier.predict(texts, top_k=1)]
    assert [p.label for p in onnx_classifier.predict(texts, top_k=1)] == torch_labels


def test_the_export_fails_loudly_and_keeps_no_model_onnx_when_the_check_fails(exported, monkeypatch):
    monkeypatch.setattr(export_onnx, "MAX_LOGIT_DIFF", 0.0)
    with pytest.raises(export_onnx.ExportMismatch, match="ONNX Runtime's logits differ from torch's"):
        export_onnx.main(["--model-dir", str(exported)])
    assert not (exported / "model.onnx").exists()
