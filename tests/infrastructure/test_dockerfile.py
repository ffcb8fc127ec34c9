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
ONNX_REQUIREMENTS = (REPO_ROOT / "lambda_image" / "requirements-onnx.txt").read_text()


def pins(text: str) -> dict[str, str]:
    """name -> version of the `name==version` lines of a requirements or constraints file."""
    return dict(line.split("==") for line in text.splitlines() if line and not line.startswith("#"))


def instructions(name: str) -> list[str]:
    """Arguments of every `name` instruction, continuation lines joined."""
    joined = DOCKERFILE.replace("\\\n", " ")
    return [" ".join(match.split()) for match in re.findall(rf"^{name}\s+(.+)$", joined, flags=re.MULTILINE)]


def test_base_image_is_the_lambda_python_312_image() -> None:
    assert instructions("FROM") == ["public.ecr.aws/lambda/python:3.12"]


def test_torch_is_the_cpu_build_of_the_pinned_version_and_only_for_the_torch_backend() -> None:
    (torch_pin,) = re.findall(r"^torch==\S+$", REQUIREMENTS, flags=re.MULTILINE)
    (install,) = [run for run in instructions("RUN") if "download.pytorch.org" in run]
    assert "--index-url https://download.pytorch.org/whl/cpu" in install
    assert install.startswith('if [ "$BACKEND" = torch ]; then pip install')
    assert install.endswith(f"{torch_pin}; fi")


def test_the_onnx_requirements_carry_no_torch_and_share_the_other_pins() -> None:
    torch_pins, onnx_pins = pins(REQUIREMENTS), pins(ONNX_REQUIREMENTS)
    assert "torch" not in onnx_pins
    assert {name: torch_pins[name] for name in onnx_pins if name in torch_pins} == {
        name: pin for name, pin in onnx_pins.items() if name in torch_pins
    }
    assert set(onnx_pins) - set(torch_pins) == {"onnxruntime"}


def test_the_constraints_pin_every_direct_requirement_alike() -> None:
    constraints = pins((REPO_ROOT / "lambda_image" / "constraints.txt").read_text())
    for requirements in (REQUIREMENTS, ONNX_REQUIREMENTS):
        assert {name: constraints.get(name) for name in pins(requirements)} == pins(requirements)


def test_model_dir_matches_the_functions_environment() -> None:
    assert f"MODEL_DIR={MODEL_DIR}" in " ".join(instructions("ENV"))
    copies = [f"COPY {args}" for args in instructions("COPY")]
    assert f"COPY model_artifacts/${{PACKAGE}}/ {MODEL_DIR}/" in copies


def test_image_never_reaches_a_model_hub() -> None:
    assert "HF_HUB_OFFLINE=1" in " ".join(instructions("ENV"))


def test_build_stops_clearly_without_the_graph_it_serves(tmp_path) -> None:
    (check,) = [run for run in instructions("RUN") if "${GRAPH}" in run]
    run_check = ["sh", "-c", check.replace(MODEL_DIR, str(tmp_path))]
    env = {"PACKAGE": "embeddings", "GRAPH": "model.onnx", "PATH": "/usr/bin:/bin"}
    missing = subprocess.run(run_check, capture_output=True, text=True, env=env)
    assert missing.returncode == 1
    assert missing.stderr == (
        "model_artifacts/embeddings/model.onnx is missing: "
        "run 'make model' (or make package) before building the image\n"
    )
    (tmp_path / "model.onnx").write_bytes(b"graph")
    assert subprocess.run(run_check, env=env).returncode == 0


def test_cmd_names_the_handler() -> None:
    assert [json.loads(cmd) for cmd in instructions("CMD")] == [["inference.handler.lambda_handler"]]


@pytest.mark.parametrize(
    "source",
    [source for args in instructions("COPY") if not args.startswith("--from=") for source in args.split()[:-1]],
)
def test_every_copied_path_is_in_the_image_build_context(default_app: SynthesizedApp, source: str) -> None:
    context_dir = default_app.image_context
    assert (context_dir / source.replace("${PACKAGE}", "transaction-classifier")).exists()


@pytest.mark.parametrize(
    ("variant", "graph"), [("default", "model.pt"), ("onnx", "model.onnx"), ("int8", "model.int8.pt")]
)
def test_the_build_context_holds_the_served_graph_and_nothing_the_runtime_never_reads(
    synthesize, variant, graph
) -> None:
    context_dir = synthesize(variant).image_context
    package = {path.name for path in (context_dir / "model_artifacts" / "transaction-classifier").iterdir()}
    assert package == {graph, "config.json", "model_card.json", "tokenizer.json", "tokenizer_config.json"}
