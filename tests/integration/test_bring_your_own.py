"""docs/models.md's three commands on a model of another architecture: a small random DistilBERT
folder, `python -m tools.packager` (what `make package` runs), the local server with MODEL_DIR on
it, and curl's request; the answer is transformers' own."""

import json
import signal
import subprocess
import sys

import pytest
import requests
import torch
import transformers

from local.process import REPO, ServerProcess
from tests.packaging.tiny_models import TOKENIZER_OF, build_model_folder, build_tokenizer

pytestmark = pytest.mark.slow
TEXT = "STARBUCKS STORE 10432 SEATTLE WA"


def test_a_distilbert_folder_is_packaged_served_and_answers_what_transformers_answers(tmp_path):
    folder = build_model_folder(
        "distilbert", "text-classification", build_tokenizer(TOKENIZER_OF["distilbert"]), tmp_path / "hf"
    )
    out = tmp_path / "my-model"
    packaged = subprocess.run(
        [sys.executable, "-m", "tools.packager", str(folder), str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert packaged.returncode == 0, packaged.stderr[-2000:]
    assert packaged.stdout.startswith(f"wrote {out}: my-model 1.0.0, text-classification, distilbert")

    server = ServerProcess({"MODEL_DIR": str(out), "LISTEN_HOST": "127.0.0.1"})
    try:
        answer = requests.post(f"{server.url}/predict", data=json.dumps({"text": TEXT, "top_k": 4}), timeout=60).json()
    finally:
        server.stop(signal.SIGTERM)

    model = transformers.AutoModelForSequenceClassification.from_pretrained(folder).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    with torch.inference_mode():
        probabilities = model(**tokenizer(TEXT, return_tensors="pt")).logits.softmax(-1)[0].tolist()
    expected = sorted(
        zip(probabilities, (model.config.id2label[i] for i in range(len(probabilities))), strict=True), reverse=True
    )
    assert answer["model"] == {"name": "my-model", "version": "1.0.0"}
    assert [entry["label"] for entry in answer["top_k"]] == [label for _, label in expected]
    assert [entry["score"] for entry in answer["top_k"]] == pytest.approx([p for p, _ in expected], abs=1.5e-4)
    # A sharpened head, far from uniform (0.25), so the comparison proves something. sharpen_head makes
    # most texts, not every one, confident (its tokenizer's training is not deterministic).
    assert max(probabilities) > 0.4
