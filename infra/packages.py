"""Which package of model_artifacts/ the app deploys, read as the runtime will read it.

No aws_cdk here: preflight checks the package with the same code before a deploy.
"""

from __future__ import annotations

from pathlib import Path

from inference.package import Backend, ModelPackage, PackageError, Variant

PACKAGES_DIR = Path(__file__).resolve().parents[1] / "model_artifacts"
SERVED_PACKAGE = "transaction-classifier"


def served_package(backend: Backend, variant: Variant, packages_dir: Path = PACKAGES_DIR) -> ModelPackage:
    """The served package, checked as the function's init checks it (its graph for this backend and
    variant included); PackageError, one line naming the folder and the fix, if it cannot be served."""
    package = ModelPackage.read(packages_dir / SERVED_PACKAGE)
    if package.task == "custom":
        # Its predictor.py loads its own weights, with torch: the onnx image has none.
        if (backend, variant) != ("torch", "fp32"):
            raise PackageError(
                f"{package.directory}: a custom package (predictor.py) is served on the torch backend in fp32 only: "
                "set backend=torch and model_variant=fp32"
            )
        return package
    package.graph(backend, variant)
    return package
