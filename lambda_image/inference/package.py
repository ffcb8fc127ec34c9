"""A model package: one folder the runtime serves (docs/models.md has the format).

Every package has a model_card.json (name, version, task). A text package is a Hugging Face
model folder (config.json, tokenizer.json) plus the graphs `make package` exports: model.pt
(TorchScript, the torch backend), model.int8.pt (its int8 variant) and model.onnx (the onnx
backend). The other tasks' packages are described by model_card.json alone (and the files it
names). What each task needs of its package is the task's to check (inference/tasks/, `check`).
Nothing here imports torch or onnxruntime: the local server, preflight and synth read packages too.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Backend = Literal["torch", "onnx"]
# fp32: the graph as exported. int8: its Linear layers quantized dynamically.
Variant = Literal["fp32", "int8"]
# The graph each backend runs for each variant it serves: the one statement of which pairs exist
# (Settings refuses any other pair at init, the deployment's settings at synth).
GRAPH_FILES: dict[tuple[str, str], str] = {
    ("torch", "fp32"): "model.pt",
    ("torch", "int8"): "model.int8.pt",
    ("onnx", "fp32"): "model.onnx",
}
# An image package's input: Pillow's mode the runtime converts every image to, and its channels.
IMAGE_MODES = {"L": 1, "RGB": 3}
# The largest input side an image package may ask for (the runtime resizes every image to it).
MAX_INPUT_SIDE = 1024
# The code of a custom package (inference/tasks/custom.py).
CUSTOM_CODE = "predictor.py"
# What an image package's card must say of its labels (checked by ModelPackage.labels and its task).
CARD_LABELS_RULE = (
    "labels must be a non-empty list of distinct, non-empty strings: the class names, in the graph's output order"
)
PACKAGE_HINT = "build it with `make package MODEL=<hf folder> OUT=<package folder>` (docs/models.md)"


@dataclass(frozen=True)
class ImageInput:
    """What an image-classification package's graph takes, from model_card.json's "image": pixels
    [N, channels, height, width] in `mode`, scaled to 0..1, inverted if `invert`, normalized by
    mean and std per channel."""

    width: int
    height: int
    mode: str
    invert: bool
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def channels(self) -> int:
        return IMAGE_MODES[self.mode]

    @classmethod
    def from_card(cls, card_path: Path, value: object) -> ImageInput:
        """Checked field by field; PackageError names the field and what it must be."""

        def refuse(field: str, rule: str) -> PackageError:
            return PackageError(f"{card_path}: image.{field} must be {rule} (docs/models.md, image-classification)")

        if not isinstance(value, dict):
            raise PackageError(
                f"{card_path}: image must be an object {{width, height, mode, invert, mean, std}} (docs/models.md)"
            )
        for side in ("width", "height"):
            if type(value.get(side)) is not int or not 1 <= value[side] <= MAX_INPUT_SIDE:
                raise refuse(side, f"an integer from 1 to {MAX_INPUT_SIDE}")
        if value.get("mode") not in IMAGE_MODES:
            raise refuse("mode", '"L" (gray) or "RGB"')
        if not isinstance(value.get("invert"), bool):
            raise refuse("invert", "true (dark ink on light paper becomes bright, as the model was trained) or false")
        channels = IMAGE_MODES[value["mode"]]
        for field in ("mean", "std"):
            numbers = value.get(field)
            if (
                not isinstance(numbers, list)
                or len(numbers) != channels
                or not all(type(n) in (int, float) and math.isfinite(n) for n in numbers)
                or (field == "std" and not all(n > 0 for n in numbers))
            ):
                rule = "positive numbers" if field == "std" else "numbers"
                raise refuse(field, f"a list of {channels} {rule}, one per channel of mode {value['mode']}")
        return cls(
            value["width"], value["height"], value["mode"], value["invert"], tuple(value["mean"]), tuple(value["std"])
        )


class PackageError(ValueError):
    """A folder the runtime cannot serve; the message is one line naming the folder, what is wrong
    and the fix."""


def one_line(error: BaseException, longest: int = 300) -> str:
    """An exception raised by a package's own code, as one line of a PackageError's message."""
    text = f"{type(error).__name__}: {' '.join(str(error).split())}"
    return text if len(text) <= longest else text[:longest] + "..."


def infer_task(model_dir: Path, config: dict[str, Any]) -> str:
    """The task a Hugging Face folder was saved for: its architecture's head, or a
    sentence-transformers folder (modules.json) for embeddings."""
    architectures = config.get("architectures") or []
    for architecture in architectures:
        if architecture.endswith("ForSequenceClassification"):
            return "text-classification"
        if architecture.endswith("ForTokenClassification"):
            return "token-classification"
    if (model_dir / "modules.json").is_file():
        return "feature-extraction"
    raise PackageError(
        f"{model_dir}: cannot tell the task: config.json's architectures {architectures} have no "
        "...ForSequenceClassification or ...ForTokenClassification head and there is no modules.json "
        '(sentence-transformers); name it with TASK= (make package) or model_card.json\'s "task" (docs/models.md)'
    )


def read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackageError(f"{path.parent}: {path.name} is missing") from None
    except (OSError, ValueError) as error:
        raise PackageError(f"{path}: not readable JSON ({error})") from None
    if not isinstance(value, dict):
        raise PackageError(f"{path}: must hold a JSON object")
    return value


@dataclass(frozen=True)
class ModelPackage:
    """What the runtime knows of a package before loading any weights."""

    directory: Path
    name: str
    version: str
    task: str
    card: dict[str, Any]
    # config.json, for a package that is a Hugging Face folder (else empty).
    config: dict[str, Any]

    @classmethod
    def read(cls, directory: Path) -> ModelPackage:
        """Reads the folder's descriptions and names its task; refuses with PackageError. Its task
        checks the rest (inference.tasks.read_package)."""
        if not directory.is_dir():
            raise PackageError(f"{directory}: no such model package folder; {PACKAGE_HINT}")
        card = read_json(directory / "model_card.json")
        for field in ("name", "version"):
            if not isinstance(card.get(field), str) or not card[field]:
                raise PackageError(f"{directory}/model_card.json: {field} must be a non-empty string")
        config = read_json(directory / "config.json") if (directory / "config.json").exists() else {}
        task = card.get("task")
        if task is None:
            if not config:
                raise PackageError(f"{directory}/model_card.json: task is missing (docs/models.md names the tasks)")
            task = infer_task(directory, config)
        if not isinstance(task, str):
            raise PackageError(f"{directory}/model_card.json: task must be a string (docs/models.md names the tasks)")
        return cls(directory, card["name"], card["version"], task, card, config)

    def require_hugging_face_folder(self) -> None:
        """A package served through a Hugging Face folder's tokenizer: config.json and tokenizer.json."""
        if not self.config:
            read_json(self.directory / "config.json")  # raises: missing or not an object
            raise PackageError(f"{self.directory}/config.json: an empty object; {PACKAGE_HINT}")
        if not (self.directory / "tokenizer.json").is_file():
            raise PackageError(
                f"{self.directory}: tokenizer.json is missing (the runtime reads the fast tokenizer); {PACKAGE_HINT}"
            )

    def graph(self, backend: Backend, variant: Variant) -> Path:
        """The exported graph `backend` runs, checked to exist."""
        name = GRAPH_FILES.get((backend, variant))
        if name is None:
            served = ", ".join(other for server, other in GRAPH_FILES if server == backend)
            raise PackageError(f"{self.directory}: the {backend} backend has no {variant} variant (it serves {served})")
        path = self.directory / name
        if not path.is_file():
            hint = PACKAGE_HINT if self.config else "export it as docs/models.md says"
            raise PackageError(f"{self.directory}: {name} is missing (the {backend} backend's graph); {hint}")
        return path

    @property
    def labels(self) -> list[str]:
        """Label names by output index: config.json's id2label for a Hugging Face folder, else the
        card's labels (an image package's)."""
        if not self.config and "labels" in self.card:
            labels = self.card.get("labels")
            valid = isinstance(labels, list) and labels and all(isinstance(label, str) and label for label in labels)
            if not valid or not isinstance(labels, list) or len(set(labels)) != len(labels):
                raise PackageError(f"{self.directory}/model_card.json: {CARD_LABELS_RULE}")
            return list(labels)
        id2label = self.config.get("id2label") or {}
        try:
            return [str(id2label[str(i)]) for i in range(len(id2label))]
        except KeyError:
            raise PackageError(f"{self.directory}/config.json: id2label must number its labels 0..n-1") from None

    @property
    def image(self) -> ImageInput:
        """An image package's input (model_card.json's "image")."""
        return ImageInput.from_card(self.directory / "model_card.json", self.card.get("image"))

    @property
    def multi_label(self) -> bool:
        return self.config.get("problem_type") == "multi_label_classification"

    @property
    def pooling(self) -> str:
        return str(self.card.get("pooling", "mean"))

    @property
    def normalize(self) -> bool:
        return bool(self.card.get("normalize", False))

    @property
    def max_tokens(self) -> int | None:
        value = self.card.get("max_tokens")
        return value if isinstance(value, int) and value > 0 else None

    @property
    def pad_token_id(self) -> int:
        # Any id would do where the config names none: the attention mask hides padding. (RoBERTa-style
        # models derive positions from it, and always name it.)
        value = self.config.get("pad_token_id")
        return value if isinstance(value, int) else 0
