"""lambda_image/Dockerfile agrees with the stack and the runtime requirements (no Docker here,
so its contents are checked against what the rest of the project relies on)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from infra.constructs.model_function import MODEL_DIR
from tests.infrastructure.synth import REPO_ROOT, SynthesizedApp

DOCKERFILE = (REPO_ROOT / "lambda_image" / "Dockerfile").read_text()
REQUIREMENTS = (REPO_ROOT / "lambda_image" / "requirements.txt").read_text()


def instructions(name: str) -> list[str]:
    """Arguments of every `name` instruction, continuation lines joined."""
    joined = DOCKERFILE.replace("\\\n", " ")
    return [" ".join(match.split()) for match in re.findall(rf"^{name}\s+(.+)$", joined, flags=re.MULTILINE)]


def test_base_image_is_the_lambda_python_312_image() -> None:
    assert instructions("FROM") == ["public.ecr.aws/lambda/python:3.12"]


def test_torch_is_the_cpu_build_of_the_pinned_version() -> None:
    (torch_pin,) = re.findall(r"^torch==\S+$", REQUIREMENTS, flags=re.MULTILINE)
    (install,) = [run for run in instructions("RUN") if "download.pytorch.org" in run]
    assert "--index-url https://download.pytorch.org/whl/cpu" in install
    assert install.endswith(torch_pin)


def test_model_dir_matches_the_functions_environment() -> None:
    assert f"MODEL_DIR={MODEL_DIR}" in " ".join(instructions("ENV"))
    assert f"COPY model_artifacts/ {MODEL_DIR}/" in [f"COPY {args}" for args in instructions("COPY")]


def test_image_never_reaches_a_model_hub() -> None:
    assert "HF_HUB_OFFLINE=1" in " ".join(instructions("ENV"))


def test_build_stops_with_a_clear_message_without_the_model_weights(tmp_path) -> None:
    (check,) = [run for run in instructions("RUN") if "model.safetensors" in run]
    run_check = ["sh", "-c", check.replace(MODEL_DIR, str(tmp_path))]
    missing = subprocess.run(run_check, capture_output=True, text=True)
    assert missing.returncode == 1
    assert missing.stderr == "model_artifacts/model.safetensors is missing: run 'make model' before building the image\n"
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    assert subprocess.run(run_check).returncode == 0


def test_cmd_names_the_handler() -> None:
    assert [json.loads(cmd) for cmd in instructions("CMD")] == [["inference.handler.lambda_handler"]]


@pytest.mark.parametrize("source", [args.split()[0] for args in instructions("COPY")])
def test_every_copied_path_is_in_the_image_build_context(default_app: SynthesizedApp, source: str) -> None:
    (context_dir,) = default_app.directory.glob("asset.*")
    assert (context_dir / source).exists()
