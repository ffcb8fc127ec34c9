"""The tasks the runtime serves, each one class (inference/tasks/base.py `Task`) with its request
and response contract written once (docs/api.md). TASKS is the one list: model_card.json's "task"
names one of them, and docs/models.md ("Adding a task") says how to add one.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from pydantic import BaseModel

from inference.package import ModelPackage, PackageError
from inference.schema import Contract, Limits
from inference.tasks.base import Task, TextTask
from inference.tasks.custom import CustomPredictor
from inference.tasks.feature_extraction import FeatureExtraction
from inference.tasks.image_classification import ImageClassification
from inference.tasks.text_classification import TextClassification
from inference.tasks.token_classification import TokenClassification

TASKS: dict[str, type[Task]] = {
    task.name: task
    for task in (TextClassification, TokenClassification, FeatureExtraction, ImageClassification, CustomPredictor)
}

__all__ = ["TASKS", "Task", "TextTask", "contract", "read_package", "request_model", "task_of"]


def task_of(package: ModelPackage) -> type[Task]:
    """The class of the package's task; PackageError (did you mean ...?) for a name no task has."""
    task = TASKS.get(package.task)
    if task is None:
        close = difflib.get_close_matches(package.task, TASKS, n=1)
        hint = f"did you mean {close[0]}?" if close else "the tasks: " + ", ".join(TASKS)
        raise PackageError(f"{package.directory}/model_card.json: task {package.task!r} is not a task ({hint})")
    return task


def read_package(directory: Path) -> ModelPackage:
    """The package in `directory`, checked by its task as the runtime will serve it (nothing is
    loaded); PackageError, one line naming the file and the fix, if it cannot be served."""
    package = ModelPackage.read(directory)
    task_of(package).check(package)
    return package


def contract(package: ModelPackage) -> Contract:
    """The package's contract: its task's, or the package's own (custom)."""
    return task_of(package).contract(package)


def request_model(package: ModelPackage, limits: Limits) -> type[BaseModel]:
    """The package's request contract with the deployment's limits, without loading its network
    (docs, the API Gateway model, tests)."""
    return task_of(package).request_model_for(package, limits)
