"""The torch and onnx backends behind one TextClassifier and one handler, on the real model
(model_artifacts/model.onnx is written by training/export_onnx.py, `make model`)."""

import subprocess
import sys

import pytest

from inference.handler import Runtime
from inference.model import TextClassifier
from inference.schema import PredictRequest
from tests.lambda_events import TRANSACTIONS


@pytest.fixture(scope="module")
def runtimes(handler_module):
    """Runtime.load() (what the handler does at init) once per backend."""
    loaded = {}
    with pytest.MonkeyPatch.context() as patch:
        for backend in ("torch", "onnx"):
            patch.setenv("MODEL_BACKEND", backend)
            loaded[backend] = Runtime.load()
    return loaded


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_the_handlers_runtime_answers_with_either_backend(runtimes, backend):
    runtime = runtimes[backend]
    assert runtime.classifier.backend == backend
    answer = runtime.predict(PredictRequest(text=None, texts=TRANSACTIONS, top_k=2))
    expected = runtimes["torch"].predict(PredictRequest(text=None, texts=TRANSACTIONS, top_k=2))
    assert [p["label"] for p in answer["predictions"]] == [p["label"] for p in expected["predictions"]]
    assert answer["predictions"][0]["label"] == "food"
    for got, want in zip(answer["predictions"], expected["predictions"]):
        assert [e["label"] for e in got["top_k"]] == [e["label"] for e in want["top_k"]]
        assert got["score"] == pytest.approx(want["score"], abs=1e-4)


def test_the_onnx_backend_never_imports_torch(handler_module):
    """In a fresh process: this one has torch loaded already."""
    model_dir = handler_module.RUNTIME.settings.model_dir
    script = (
        "import sys; from pathlib import Path; from inference.model import TextClassifier; "
        f"c = TextClassifier(Path({str(model_dir)!r}), 1, backend='onnx'); "
        "print(c.predict(['STARBUCKS STORE 10432 SEATTLE WA'], top_k=1)[0].label, 'torch' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd="lambda_image", timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["food", "False"]


def test_onnx_with_int8_is_refused(handler_module):
    with pytest.raises(ValueError, match="onnx backend serves the fp32 variant only"):
        TextClassifier(handler_module.RUNTIME.settings.model_dir, 1, variant="int8", backend="onnx")
