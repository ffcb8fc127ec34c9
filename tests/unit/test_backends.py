"""The torch and onnx backends behind one runtime, on the real demo packages (both graphs are
written by `make package`, from one trace)."""

import subprocess
import sys

import pytest

from inference.package import PackageError
from inference.runtime import Runtime
from inference.settings import REPO_MODEL_DIR, Settings
from tests.lambda_events import TRANSACTIONS

EMBEDDINGS_DIR = REPO_MODEL_DIR.parent / "embeddings"


@pytest.fixture(scope="module")
def runtimes():
    """Runtime.load() (what the handler does at init) once per backend and demo package."""
    return {
        (package, backend): Runtime.load(Settings(MODEL_DIR=str(directory), MODEL_BACKEND=backend))
        for package, directory in (("classifier", REPO_MODEL_DIR), ("embeddings", EMBEDDINGS_DIR))
        for backend in ("torch", "onnx")
    }


def test_both_backends_classify_alike(runtimes):
    request = {"texts": TRANSACTIONS, "top_k": 2}
    answer = runtimes["classifier", "onnx"].answer(request).body["predictions"]
    expected = runtimes["classifier", "torch"].answer(request).body["predictions"]
    assert answer[0]["label"] == "food"
    for got, want in zip(answer, expected, strict=True):
        assert [e["label"] for e in got["top_k"]] == [e["label"] for e in want["top_k"]]
        assert got["score"] == pytest.approx(want["score"], abs=2e-4)


def test_both_backends_embed_alike(runtimes):
    request = {"texts": ["STARBUCKS COFFEE", "COSTA COFFEE", "SHELL OIL"]}
    answer = runtimes["embeddings", "onnx"].answer(request).body
    expected = runtimes["embeddings", "torch"].answer(request).body
    assert answer["dims"] == expected["dims"] == 384
    for got, want in zip(answer["embeddings"], expected["embeddings"], strict=True):
        assert got == pytest.approx(want, abs=1e-5)


def test_the_onnx_backend_never_imports_torch():
    """In a fresh process: this one has torch loaded already."""
    script = (
        "import sys; from inference.runtime import Runtime; from inference.settings import Settings; "
        "r = Runtime.load(Settings(MODEL_BACKEND='onnx')); "
        "print(r.answer({'text': 'STARBUCKS STORE 10432 SEATTLE WA'}).body['label'], 'torch' in sys.modules)"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd="lambda_image",
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "POWERTOOLS_METRICS_DISABLED": "true"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["food", "False"]


def test_onnx_with_int8_is_refused_naming_the_setting():
    with pytest.raises(ValueError, match="MODEL_BACKEND=onnx with MODEL_VARIANT=int8 is not allowed"):
        Settings(MODEL_BACKEND="onnx", MODEL_VARIANT="int8")


def test_a_package_without_its_backends_graph_is_refused_with_one_line(tmp_path):
    for name in ("config.json", "model_card.json", "tokenizer.json"):
        (tmp_path / name).write_bytes((REPO_MODEL_DIR / name).read_bytes())
    with pytest.raises(PackageError) as refused:
        Runtime.load(Settings(MODEL_DIR=str(tmp_path), MODEL_BACKEND="onnx"))
    assert (
        str(refused.value) == f"{tmp_path}: model.onnx is missing (the onnx backend's graph); "
        "build it with `make package MODEL=<hf folder> OUT=<package folder>` (docs/models.md)"
    )
