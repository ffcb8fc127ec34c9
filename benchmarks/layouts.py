"""The installed layouts a measured process runs over, and what each image built from them weighs.

A layout is a requirements file installed the way the image installs it (tools/image_layout.py):
the image's (lambda_image/requirements.txt), the onnx image's (requirements-onnx.txt, no torch) or
the naive baseline's (benchmarks/naive_requirements.txt: torch + transformers). The handler's
processes also see the runtime's code, copied once per bench run (`Layouts`).
"""

from __future__ import annotations

import compileall
import fnmatch
import shutil
from pathlib import Path

from deployment.catalog import NOT_SERVED
from inference.package import GRAPH_FILES
from tools.image_layout import IMAGE_REQUIREMENTS, ONNX_IMAGE_REQUIREMENTS, REPO, installed

BENCHMARKS = Path(__file__).resolve().parent
TASK_ROOT = REPO / "lambda_image"
NAIVE_REQUIREMENTS = BENCHMARKS / "naive_requirements.txt"
NAIVE_TARGET_CACHE = REPO / ".cache" / "bench-naive"
# The benchmarks' own copies of the image layouts: the tests' copies (tools/image_layout.py's default
# cache) are replaced whenever a test run installs other pins, which would pull them from under a
# bench that is running.
IMAGE_TARGET_CACHE = REPO / ".cache" / "bench" / "image-target"
LAYOUTS = ("torch", "onnx", "naive")


class Layouts:
    """The layouts of one bench run: each installed on first use (cached across runs), and the
    runtime's code as it was when the run began."""

    def __init__(self, scratch: Path) -> None:
        self.task_root = copy_task_root(scratch)
        self._sites: dict[str, Path] = {}

    def site(self, layout: str) -> Path:
        """The site-packages folder of "torch" (the image's), "onnx" (the onnx image's) or "naive"."""
        if layout not in self._sites:
            if layout == "naive":
                self._sites[layout] = installed(NAIVE_REQUIREMENTS, NAIVE_TARGET_CACHE, constraints=None)
            else:
                requirements = ONNX_IMAGE_REQUIREMENTS if layout == "onnx" else IMAGE_REQUIREMENTS
                self._sites[layout] = installed(requirements, IMAGE_TARGET_CACHE)
        return self._sites[layout]

    def paths(self, layout: str) -> list[str]:
        """What a probe of this layout puts on sys.path: the handler's the task root and the image's
        packages; the naive baseline's benchmarks/ (naive.py), training/ (the digits' nn.Module,
        which its image baseline builds) and its packages."""
        if layout == "naive":
            return [str(BENCHMARKS), str(REPO / "training"), str(self.site("naive"))]
        return [str(self.task_root), str(self.site(layout))]


def copy_task_root(scratch: Path) -> Path:
    """The runtime's code as it is now, copied as the Dockerfile copies it (compiled too): edits made
    to the working tree while the bench runs do not reach the later runs."""
    task_root = scratch / "task-root"
    shutil.copytree(TASK_ROOT / "inference", task_root / "inference", ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(task_root / "inference", quiet=1)
    return task_root


def directory_bytes(path: Path, skip=lambda p: False) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not skip(p))


def cuda_files(site_packages: Path) -> list[str]:
    """CUDA runtime libraries or nvidia-* packages: what a GPU wheel of torch would have brought."""
    markers = ("libcudart", "libcublas", "libcudnn", "libnccl", "libcusparse", "libcufft")
    return sorted(
        str(p.relative_to(site_packages))
        for p in site_packages.rglob("*")
        if p.name.startswith(markers) or (p.parent == site_packages and p.name.lower().startswith("nvidia"))
    )


def served_files(package: Path, graph: str | None) -> list[Path]:
    """The files of a package an image carries (infra/constructs/model_function.py's build context):
    not the NOT_SERVED ones (transformers' weights, plots, READMEs, evaluation outputs), and of the
    graphs only `graph`. graph=None: the naive image's, which reads the weights and no graph."""
    files = []
    for path in sorted(p for p in package.rglob("*") if p.is_file()):
        if path.name in GRAPH_FILES.values():
            if path.name == graph:
                files.append(path)
        elif (graph is None and fnmatch.fnmatch(path.name, "*.safetensors")) or not any(
            fnmatch.fnmatch(path.name, pattern) for pattern in NOT_SERVED
        ):
            files.append(path)
    return files


def payload(layouts: Layouts, packages: dict[str, Path]) -> dict:
    """What each image adds to the base image: runtime dependencies, the package as that image
    carries it, the handler's code; per task, for the torch image (fp32 or int8 graph), the onnx
    image (BACKEND=onnx) and the naive one (torch + transformers + the weights)."""
    sites = {layout: layouts.site(layout) for layout in LAYOUTS}
    handler = directory_bytes(TASK_ROOT / "inference", skip=lambda p: "__pycache__" in p.parts)
    dependencies = {layout: directory_bytes(site) for layout, site in sites.items()}
    tasks = {}
    for task, package in packages.items():
        images = {}
        for name, layout, graph in (
            ("fp32", "torch", GRAPH_FILES["torch", "fp32"]),
            ("int8", "torch", GRAPH_FILES["torch", "int8"]),
            ("onnx", "onnx", GRAPH_FILES["onnx", "fp32"]),
            ("naive", "naive", None),
        ):
            model = sum(p.stat().st_size for p in served_files(package, graph))
            code = 0 if layout == "naive" else handler
            images[name] = {"model_gb": model / 1e9, "total_gb": (dependencies[layout] + model + code) / 1e9}
        tasks[task] = images
    biggest = sorted(((directory_bytes(p), p.name) for p in sites["torch"].iterdir() if p.is_dir()), reverse=True)[:6]
    return {
        "dependencies_gb": {layout: size / 1e9 for layout, size in dependencies.items()},
        "handler_mb": handler / 1e6,
        "tasks": tasks,
        "largest_packages_mb": {name: size / 1e6 for size, name in biggest},
        "cuda_files": {layout: cuda_files(sites[layout]) for layout in ("torch", "onnx")},
    }
