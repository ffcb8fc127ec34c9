"""The runtime of one package: settings, package and task, loaded once; it answers request
objects and knows nothing of events or HTTP (inference/function.py adapts those)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inference.package import ModelPackage, PackageError, one_line
from inference.schema import validate
from inference.settings import Settings
from inference.tasks import Task, read_package, task_of


@dataclass(frozen=True)
class Answer:
    """A request's answer as the API sends it, and the log line's counts of its inputs."""

    body: dict[str, Any]
    input_counts: dict[str, int]


@dataclass(frozen=True)
class Runtime:
    """What one execution environment loads once, at init: settings, package, task."""

    settings: Settings
    package: ModelPackage
    task: Task

    @classmethod
    def load(cls, settings: Settings | None = None) -> Runtime:
        """Reads the package in MODEL_DIR (PackageError if it cannot be served) and loads its network."""
        settings = settings or Settings.from_env()
        package = read_package(settings.model_dir)
        runtime = cls(settings, package, task_of(package)(package, settings))
        # One answer at init: the graph's first run (allocations, kernel choice) is not a request's.
        # A package that cannot answer its own example cannot serve: one line, as for a missing file.
        try:
            runtime.warm_up()
        except Exception as error:
            raise PackageError(
                f"{package.directory}: answering the example request failed ({one_line(error)})"
            ) from error
        return runtime

    def warm_up(self) -> Answer:
        """Answers the contract's example request (at init, and before a SnapStart snapshot)."""
        return self.answer(self.task.contract(self.package).example)

    def answer(self, payload: object) -> Answer:
        """The answer to a request object (or the bytes of a binary body: an image); RequestError
        if it is invalid."""
        if isinstance(payload, bytes):
            payload = self.task.binary_request(payload)
        request = validate(self.task.request_model, payload)
        answer = self.task.answer(request)
        return Answer(answer.model_dump(mode="json", exclude_unset=True), self.task.input_counts(request))
