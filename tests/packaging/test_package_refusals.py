"""`make package` (python -m tools.packager) refuses a folder it cannot serve with one line and exit
status 2, and leaves nothing half-written: OUT is not created, an existing OUT is left as it was,
and no temporary .OUT.* folder is left beside it.

The CLI runs as a real subprocess for some refusals and for one folder it serves; each subprocess
pays torch's and transformers' import (seconds of CPU), so the other refusals call its main() in
this process, the function `python -m tools.packager` exits with. The parity refusal, which needs a
graph that differs from its model, runs package() in-process.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers

from inference.package import GRAPH_FILES, ModelPackage, PackageError
from inference.runtime import Runtime
from inference.settings import Settings
from inference.tasks import TASKS, read_package
from inference.tasks.text_classification import TextClassification
from tests.packaging.conftest import Built
from tests.packaging.reference import reference
from tests.packaging.tiny_models import TEXTS

REPO = Path(__file__).resolve().parents[2]


def snapshot(folder: Path) -> dict[str, bytes] | None:
    """Every file under `folder` with its bytes; None if there is no such folder."""
    if not folder.exists():
        return None
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def leftovers(out: Path) -> list[str]:
    """Temporary folders package() builds in (.OUT.xxxx) or moves an older package to (.OUT.old)."""
    return sorted(path.name for path in out.parent.iterdir() if path.name.startswith(f".{out.name}."))


@dataclass
class Run:
    """One CLI run: what OUT held before, and the exit status and output."""

    source: Path
    out: Path
    before: dict[str, bytes] | None
    process: subprocess.Popen | None = None
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""


def _older_package(out: Path) -> None:
    """What an earlier `make package` might have left in OUT."""
    out.mkdir(parents=True)
    card = {"name": "older", "version": "0.9.0", "task": "text-classification"}
    (out / "model_card.json").write_text(json.dumps(card))
    (out / "model.pt").write_bytes(b"an older graph")


@pytest.fixture(scope="module")
def cli(tiny_folder: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """The subprocess scenarios, run at once."""
    root = tmp_path_factory.mktemp("cli")
    bert = tiny_folder("bert", "text-classification")
    runs: dict[str, tuple[Run, list[str]]] = {}

    def scenario(name: str, source: Path, *options: str, older_out: bool = False) -> None:
        out = root / name / "out"
        out.parent.mkdir(parents=True, exist_ok=True)
        if older_out:
            _older_package(out)
        runs[name] = (Run(source, out, snapshot(out)), [str(source), str(out), *options])

    def copy_of(folder: Path, name: str) -> Path:
        return Path(shutil.copytree(folder, root / f"{name}-source"))

    no_tokenizer = copy_of(bert, "no-tokenizer")
    (no_tokenizer / "tokenizer.json").unlink()
    scenario("no-tokenizer", no_tokenizer, older_out=True)

    scenario("unknown-task-option", bert, "--task", "translation", older_out=True)

    # And one folder it can serve, over an older package: the contrast, and the replacement.
    served = tiny_folder("distilbert", "text-classification")
    scenario("served", served, "--name", "tiny", "--version", "2.0.0", older_out=True)

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "lambda_image")])}
    for run, args in runs.values():
        run.process = subprocess.Popen(
            [sys.executable, "-m", "tools.packager", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    try:
        for run, _ in runs.values():
            assert run.process is not None
            run.stdout, run.stderr = run.process.communicate(timeout=300)
            run.returncode = run.process.returncode
        yield {name: run for name, (run, _) in runs.items()}
    finally:
        for run, _ in runs.values():
            if run.process is not None and run.process.poll() is None:
                run.process.kill()
                run.process.wait()


def assert_refused(run: Run, pattern: str) -> str:
    """Exit status 2, one line on stderr matching `pattern`, nothing on stdout, OUT as it was."""
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    lines = run.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{run.stderr}"
    assert lines[0].startswith("make package: "), lines[0]
    assert re.search(pattern, lines[0]), lines[0]
    assert run.stdout == ""
    assert snapshot(run.out) == run.before, "OUT changed"
    assert leftovers(run.out) == []
    return lines[0]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "pattern"),
    [("no-tokenizer", r"no tokenizer\.json")],
)
def test_a_folder_it_cannot_serve_is_refused_with_one_line(cli: dict[str, Run], name: str, pattern: str) -> None:
    line = assert_refused(cli[name], pattern)
    assert str(cli[name].source) in line, "the line names the folder"


def _made_up_architecture(folder: Path, model: Path) -> Path:
    shutil.copytree(model, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="not-a-model", architectures=["NotAModelForSequenceClassification"])
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def _vision_model(folder: Path, tokenizer_from: Path) -> Path:
    """An architecture transformers knows, with no head for text tasks (an image model)."""
    config = transformers.ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    config.save_pretrained(folder)
    shutil.copy(tokenizer_from / "tokenizer.json", folder / "tokenizer.json")
    return folder


def _card_task(folder: Path, model: Path) -> Path:
    shutil.copytree(model, folder)
    (folder / "model_card.json").write_text(json.dumps({"task": "translation"}))
    return folder


IN_PROCESS = {
    # name: (make the source folder from (folder, tiny_folder), options, pattern of the line)
    "made-up-architecture": (
        lambda folder, tiny: _made_up_architecture(folder, tiny("bert", "text-classification")),
        [],
        r"transformers cannot load it as text-classification: .*`not-a-model`",
    ),
    "no-head-for-the-task": (
        lambda folder, tiny: _vision_model(folder, tiny("bert", "text-classification")),
        ["--task", "token-classification"],
        r"transformers cannot load it as token-classification: .*ViTConfig",
    ),
    "unknown-task-in-card": (
        lambda folder, tiny: _card_task(folder, tiny("bert", "text-classification")),
        [],
        r"unknown task 'translation': TASK must be one of " + ", ".join(TASKS),
    ),
    "task-not-inferable": (
        lambda folder, tiny: tiny("bert", "feature-extraction"),
        [],
        r"cannot tell the task: .*\['BertModel'\].*name it with TASK=",
    ),
}


@pytest.mark.parametrize("name", IN_PROCESS)
@pytest.mark.parametrize("older_out", [False, True], ids=["no-out", "older-out"])
def test_main_refuses_with_one_line(
    tiny_folder: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, older_out: bool
) -> None:
    from tools.packager import main

    make_source, options, pattern = IN_PROCESS[name]
    source = make_source(tmp_path / "source", tiny_folder)
    out = tmp_path / "out"
    if older_out:
        _older_package(out)
    run = Run(source, out, snapshot(out))
    capsys.readouterr()
    run.returncode = main([str(source), str(out), *options])
    run.stdout, run.stderr = capsys.readouterr()
    line = assert_refused(run, pattern)
    if name != "unknown-task-in-card":
        assert str(source.resolve()) in line, "the line names the folder"


@pytest.mark.slow
def test_an_unknown_task_option_is_refused_with_one_line_naming_the_tasks(cli: dict[str, Run]) -> None:
    line = assert_refused(cli["unknown-task-option"], r"unknown task 'translation'")
    assert all(task in line for task in TASKS), line


@pytest.mark.slow
def test_a_folder_it_can_serve_replaces_the_older_package(cli: dict[str, Run]) -> None:
    """The contrast: exit status 0, one line on stdout, the package in OUT (the older one gone,
    nothing left beside it), and the runtime answers it with transformers' probabilities."""
    run = cli["served"]
    assert run.returncode == 0, run.stderr
    assert "make package:" not in run.stderr
    [line] = run.stdout.splitlines()
    assert line.startswith(f"wrote {run.out}: tiny 2.0.0, text-classification, distilbert; answers match transformers'")
    assert leftovers(run.out) == []
    files = snapshot(run.out)
    assert files is not None
    assert files["model.pt"] != b"an older graph"
    assert {"config.json", "tokenizer.json", "model_card.json", *GRAPH_FILES.values()} <= set(files)
    package = read_package(run.out)
    assert (package.name, package.version, package.task) == ("tiny", "2.0.0", "text-classification")
    expected = reference(run.source, "text-classification", TEXTS).probabilities
    for backend in ("torch", "onnx"):
        runtime = Runtime.load(Settings(MODEL_DIR=str(run.out), MODEL_BACKEND=backend))
        assert isinstance(runtime.task, TextClassification)
        assert float(np.abs(runtime.task.probabilities(TEXTS) - expected).max()) <= 1e-4, backend


def test_parity_failure_is_refused_and_leaves_the_older_package(
    tiny_folder: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A graph whose answers differ from the model's (here: exported from a slightly changed copy
    of it) fails the parity check: PackageError "parity off by X", one line, nothing written."""
    import tools.packager

    export = tools.packager._export

    def export_another_model(model: torch.nn.Module, built: ModelPackage, task: str) -> None:
        other = copy.deepcopy(model)
        with torch.no_grad():
            classifier = other.get_submodule("classifier")
            assert isinstance(classifier, torch.nn.Linear)
            classifier.bias.add_(torch.tensor([0.05, -0.05, 0.0, 0.0]))
        export(other, built, task)

    monkeypatch.setattr(tools.packager, "_export", export_another_model)
    source = tiny_folder("bert", "text-classification")
    out = tmp_path / "out"
    _older_package(out)
    before = snapshot(out)
    with pytest.raises(PackageError) as refused:
        tools.packager.package(source, out)
    message = str(refused.value)
    assert "\n" not in message
    pattern = r"parity off by \d\.\de-\d\d \(limit 1e-04\): the torch backend's answers differ"
    assert re.search(pattern, message), message
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_check_parity_catches_an_onnx_graph_of_another_model(built: Callable[..., Built], tmp_path: Path) -> None:
    """check_parity on a package whose model.onnx is another model's (same architecture, tokenizer
    and labels; other weights) names the onnx backend."""
    from tools.packager import check_parity

    case = built("bert", "text-classification")
    other = built("bert", "text-classification", True)
    swapped = Path(shutil.copytree(case.package.directory, tmp_path / "swapped"))
    shutil.copy(other.package.directory / "model.onnx", swapped / "model.onnx")
    model = transformers.AutoModelForSequenceClassification.from_pretrained(case.source, local_files_only=True).eval()
    with pytest.raises(PackageError, match=r"parity off by .*: the onnx backend's answers differ from transformers'"):
        check_parity(case.source, read_package(swapped), model, TEXTS)
    # The package as built passed the same check (on fewer texts), and said so in its card.
    assert set(case.package.card["parity"]) == {"torch", "onnx"}
    assert max(case.package.card["parity"].values()) < 1e-4
