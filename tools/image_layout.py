"""A requirements file installed the way the Lambda image installs it, without a container
engine: `pip install --target` into a cached directory, tests folders removed as the Dockerfile
removes them. The image-contents test and the benchmarks run Python over these directories, in
the environment lambda_env() gives."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IMAGE_REQUIREMENTS = REPO / "lambda_image" / "requirements.txt"
# The image built with BACKEND=onnx (no torch).
ONNX_IMAGE_REQUIREMENTS = REPO / "lambda_image" / "requirements-onnx.txt"
# The pins of every package the image holds, transitive ones included (pip's -c).
IMAGE_CONSTRAINTS = REPO / "lambda_image" / "constraints.txt"
# One installed copy per requirements file and interpreter, reused across runs (gitignored).
IMAGE_TARGET_CACHE = REPO / ".cache" / "image-target"
# torch as the image installs it (lambda_image/Dockerfile): the CPU-only build from PyTorch's index,
# not PyPI's Linux x86_64 CUDA build of several GB. Its wheel is fetched into TORCH_CPU_WHEELS, where
# pip prefers it (2.13.0+cpu ranks above 2.13.0); out of reach, torch comes from the usual index.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_CPU_WHEELS = REPO / ".cache" / "torch-cpu"


class InstallError(RuntimeError):
    pass


def installed(
    requirements: Path = IMAGE_REQUIREMENTS,
    cache: Path = IMAGE_TARGET_CACHE,
    constraints: Path | None = IMAGE_CONSTRAINTS,
) -> Path:
    """The site-packages directory of `requirements` (under `constraints`, as the image installs
    it), installed once per content and interpreter.

    Each requirements file has its own folder under `cache`, so that using one file never
    deletes the install of another."""
    torch_wheels = _cpu_torch_wheels(requirements)
    # Which torch wheel was at hand is part of the key: a layout installed while PyTorch's index
    # was out of reach (PyPI's torch) is not reused once the CPU build is there.
    pinned = requirements.read_bytes() + (constraints.read_bytes() if constraints else b"")
    at_hand = " ".join(sorted(wheel.name for wheel in torch_wheels)).encode()
    key = hashlib.sha256(pinned + at_hand + f"{sys.version}{platform.machine()}".encode()).hexdigest()[:16]
    folder = cache / requirements.stem
    target = folder / key
    if target.exists():
        return target
    if folder.exists():
        shutil.rmtree(folder)  # older installs of this file: up to a gigabyte each
    partial = folder / f"{key}.partial"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(partial), "-r", str(requirements)]
        + (["-c", str(constraints)] if constraints else [])
        + (["--find-links", str(TORCH_CPU_WHEELS)] if torch_wheels else []),
        capture_output=True,
        text=True,
    )
    if install.returncode != 0:
        raise InstallError(install.stderr[-3000:])
    for tests_dir in [d for d in partial.rglob("tests") if d.is_dir()]:
        shutil.rmtree(tests_dir, ignore_errors=True)
    partial.rename(target)
    return target


def _cpu_torch_wheels(requirements: Path) -> list[Path]:
    """The CPU-only wheel(s) of the torch that `requirements` pins (none if it pins none, or if
    PyTorch's index is out of reach), fetched once into TORCH_CPU_WHEELS."""
    pin = next((line for line in requirements.read_text().split() if line.startswith("torch==")), None)
    if pin is None:
        return []
    pattern = f"torch-{pin.removeprefix('torch==')}+cpu-*.whl"
    if not any(TORCH_CPU_WHEELS.glob(pattern)):
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-qq", "--retries", "1", "--no-deps"]
            + ["--index-url", TORCH_CPU_INDEX, "--dest", str(TORCH_CPU_WHEELS), pin],
            capture_output=True,
            check=False,
        )
    return sorted(TORCH_CPU_WHEELS.glob(pattern))


def lambda_env(scratch: Path, **settings: str) -> dict[str, str]:
    """What the image's Python sees in its environment: the Dockerfile's ENV and what Lambda sets
    (a 2,048 MB function), caches under `scratch`, nothing from this shell but PATH; `settings`
    adds or overrides the handler's variables (MODEL_BACKEND="onnx", ...)."""
    return {
        "PATH": os.environ["PATH"],
        "MODEL_DIR": str(REPO / "model_artifacts" / "transaction-classifier"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": str(scratch / "huggingface"),
        "XDG_CACHE_HOME": str(scratch / ".cache"),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048",
        **settings,
    }
