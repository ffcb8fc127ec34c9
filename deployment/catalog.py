"""Which packages of model_artifacts/ the app deploys, read as the runtime will read them, and the
`GET /models` document that lists them (docs/api.md, "Several models").

No aws_cdk here: preflight checks the packages with the same code before a deploy, and the local
server answers `GET /models` with the same document the stack puts in its mock integration.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inference.events import model_route
from inference.package import Backend, ModelPackage, Variant
from inference.tasks import contract, read_package, task_of

PACKAGES_DIR = Path(__file__).resolve().parents[1] / "model_artifacts"
# The default of the `models` setting: the demo classifier, which also answers POST /predict.
SERVED_PACKAGE = "transaction-classifier"
# A package's folder name is a path part of its route (/models/<name>/predict) and names its ECR
# repository (<app id>/<name>): lowercase letters and digits, words joined by one '-', '_' or '.'.
NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
NAME_MAX = 64
NAME_RULE = f"lowercase letters and digits, words joined by one '-', '_' or '.', at most {NAME_MAX} characters"


# Files of a package the runtime never reads, left out of its image: transformers' weights (the
# graphs replace them) and evaluation outputs for people.
NOT_SERVED = ["*.safetensors", "*.bin", "*.png", "*.md", "evaluation.json"]


def available_packages(packages_dir: Path | None = None) -> list[str]:
    """The folders of model_artifacts/ that hold a package (a model_card.json), by name."""
    folder = packages_dir or PACKAGES_DIR
    if not folder.is_dir():
        return []
    return sorted(path.parent.name for path in folder.glob("*/model_card.json"))


def parse_model_names(raw: object, packages_dir: Path | None = None) -> tuple[str, ...]:
    """The `models` setting: comma-separated folder names (or a JSON list), each a package of
    model_artifacts/, each once. ValueError with the reason, in words for the user."""
    items = raw if isinstance(raw, list) else str(raw).split(",")
    names = tuple(str(item).strip() for item in items)
    if not any(names):
        raise ValueError("no package named")
    existing = available_packages(packages_dir)
    there = ", ".join(existing) if existing else "none yet: `make model` builds the demo packages"
    for index, name in enumerate(names):
        if not (NAME.fullmatch(name) and len(name) <= NAME_MAX):
            raise ValueError(f"{name!r} is not a package folder name ({NAME_RULE})")
        if name in names[:index]:
            raise ValueError(f"{name} is named twice")
        if name not in existing:
            raise ValueError(f"{name} is not a package of model_artifacts/ (packages there: {there})")
    return names


def served_packages(
    names: Sequence[str], backend: Backend, variant: Variant, packages_dir: Path | None = None
) -> list[ModelPackage]:
    """The packages, each checked as its function's init checks it (its graph for this backend and
    variant included); PackageError, one line naming the folder and the fix, if one cannot be served."""
    folder = packages_dir or PACKAGES_DIR
    packages = [read_package(folder / name) for name in names]
    for package in packages:
        task_of(package).check_serving(package, backend, variant)
    return packages


def binary_media_types(packages: Sequence[ModelPackage]) -> list[str]:
    """The media types the REST API must pass to the functions as binary (base64) bodies."""
    return sorted({media for package in packages for media in task_of(package).binary_media_types})


def models_document(packages: Sequence[ModelPackage], names: Sequence[str] | None = None) -> dict[str, Any]:
    """The answer of GET /models: every served package, the first (which also answers POST /predict)
    first. `names`: their route names (default their folders'; the local server's MODEL_NAME may differ)."""
    return {
        "models": [
            {
                "name": name,
                "model": package.name,
                "task": package.task,
                "version": package.version,
                "route": model_route(name),
                "example": contract(package).example,
            }
            for package, name in zip(packages, names or [package.directory.name for package in packages], strict=True)
        ]
    }
