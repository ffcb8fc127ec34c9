"""The Lambda image's contents, proved without a container engine.

lambda_image/requirements.txt (requirements-onnx.txt for the image built with BACKEND=onnx) is
installed into a clean directory, the package is copied the way the Dockerfile copies it, and
the handler is invoked from a fresh isolated Python that sees only those two directories and
the standard library: a dependency missing from the requirements, or a dev-only one the code
imports, fails here.
"""

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from importlib.metadata import distributions
from pathlib import Path

import pytest

from local.lambda_context import LocalLambdaContext
from tests.images import JPEG_7, PNG_7, b64
from tests.lambda_events import http_answer, rest_event, sam_rest_event
from tools.image_layout import IMAGE_CONSTRAINTS, ONNX_IMAGE_REQUIREMENTS, REPO, installed, lambda_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site_packages() -> Path:
    """lambda_image/requirements.txt installed like the image's site-packages (cached)."""
    return installed()


@pytest.fixture(scope="module")
def onnx_site_packages() -> Path:
    """lambda_image/requirements-onnx.txt installed the same way (cached)."""
    return installed(ONNX_IMAGE_REQUIREMENTS)


@pytest.fixture(scope="module")
def task_root(tmp_path_factory) -> Path:
    """LAMBDA_TASK_ROOT: `COPY lambda_image/inference/ ${LAMBDA_TASK_ROOT}/inference/`."""
    root = tmp_path_factory.mktemp("task")
    shutil.copytree(
        REPO / "lambda_image" / "inference", root / "inference", ignore=shutil.ignore_patterns("__pycache__")
    )
    return root


def run_in_image_layout(
    task_root: Path, site_packages: Path, events: list, backend: str = "torch", package: str = "transaction-classifier"
) -> dict:
    env = lambda_env(
        task_root.parent / "tmp",
        MODEL_DIR=str(REPO / "model_artifacts" / package),
        POWERTOOLS_METRICS_DISABLED="true",
        MODEL_BACKEND=backend,
    )
    request = {"context": dataclasses.asdict(LocalLambdaContext()), "events": events}
    run = subprocess.run(
        [sys.executable, "-I", "-S", str(Path(__file__).parent / "run_handler.py"), str(task_root), str(site_packages)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=env,
        cwd=task_root,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_the_handler_runs_from_the_images_layout_with_only_runtime_dependencies(
    task_root, site_packages, onnx_site_packages, backend
):
    report = run_in_image_layout(
        task_root,
        {"torch": site_packages, "onnx": onnx_site_packages}[backend],
        [
            sam_rest_event(json.dumps({"text": "STARBUCKS STORE 10432 SEATTLE WA"})),
            {"texts": ["STARBUCKS STORE 10432 SEATTLE WA"], "top_k": 1},
            {"warmup": True},
        ],
        backend,
    )
    rest, direct, warmup = report["answers"]
    status, body = http_answer(rest)
    assert (status, body["label"]) == (200, "food")
    assert direct["predictions"][0]["label"] == "food"
    assert warmup == {"warm": True}
    assert report["foreign_modules"] == []
    assert not any(".venv" in entry for entry in report["sys_path"])
    assert report["torch_imported"] is (backend == "torch")


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_the_embeddings_package_runs_from_the_images_layout_too(task_root, site_packages, onnx_site_packages, backend):
    report = run_in_image_layout(
        task_root,
        {"torch": site_packages, "onnx": onnx_site_packages}[backend],
        [{"texts": ["STARBUCKS COFFEE", "COSTA COFFEE"]}],
        backend,
        package="embeddings",
    )
    [answer] = report["answers"]
    assert answer["dims"] == 384 and len(answer["embeddings"]) == 2
    assert report["foreign_modules"] == [] and report["torch_imported"] is (backend == "torch")


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_the_digits_package_answers_images_from_the_images_layout_too(
    task_root, site_packages, onnx_site_packages, backend
):
    report = run_in_image_layout(
        task_root,
        {"torch": site_packages, "onnx": onnx_site_packages}[backend],
        [
            rest_event(b64(PNG_7), headers={"Content-Type": "image/png"}, is_base64=True),
            {"image": b64(JPEG_7), "top_k": 1},
        ],
        backend,
        package="digits",
    )
    rest, direct = report["answers"]
    status, body = http_answer(rest)
    assert (status, body["label"], direct["label"]) == (200, "7", "7")
    assert report["foreign_modules"] == [] and report["torch_imported"] is (backend == "torch")


def test_every_package_of_both_images_is_pinned_by_the_constraints_and_every_pin_is_used(
    site_packages, onnx_site_packages
):
    def name(raw: str) -> str:
        return re.sub(r"[-_.]+", "-", raw).lower()  # PEP 503

    pinned = {
        name(line.split("==")[0]): line.split("==")[1]
        for line in IMAGE_CONSTRAINTS.read_text().splitlines()
        if line and not line.startswith("#")
    }
    images = [
        {name(d.metadata["Name"]): d.version.split("+")[0] for d in distributions(path=[str(site)])}
        for site in (site_packages, onnx_site_packages)
    ]
    for installed_packages in images:
        assert installed_packages == {package: pinned.get(package) for package in installed_packages}
    assert set(pinned) == set(images[0]) | set(images[1])
