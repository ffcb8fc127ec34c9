"""The runtime of one package: settings, package and task model, loaded once; it answers request
objects and knows nothing of events or HTTP (inference/function.py adapts those)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from inference import tasks
from inference.package import ModelPackage, PackageError, one_line
from inference.schema import validate
from inference.settings import Settings


@dataclass(frozen=True)
class Runtime:
    """What one execution environment loads once, at init: settings, package, task model."""

    settings: Settings
    package: ModelPackage
    model: tasks.TaskModel

    @classmethod
    def load(cls, settings: Settings | None = None) -> Runtime:
        """Reads the package in MODEL_DIR (PackageError if it cannot be served) and loads its network."""
        settings = settings or Settings.from_env()
        package = ModelPackage.read(settings.model_dir)
        runtime = cls(settings, package, tasks.load(package, settings))
        # One answer at init: the graph's first run (allocations, kernel choice) is not a request's.
        # A package that cannot answer its own example cannot serve: one line, as for a missing file.
        try:
            runtime.warm_up()
        except Exception as error:
            raise PackageError(
                f"{package.directory}: answering the example request failed ({one_line(error)})"
            ) from error
        return runtime

    def warm_up(self) -> tuple[dict[str, Any], Sequence[Any]]:
        """Answers the contract's example request (at init, and before a SnapStart snapshot)."""
        return self.answer(tasks.contract(self.package).example)

    def answer(self, payload: object) -> tuple[dict[str, Any], Sequence[Any]]:
        """The response object for a request object (or the bytes of a binary body: an image), and
        the inputs it answered (texts, images: logs and metrics count them); RequestError if invalid."""
        if isinstance(payload, bytes):
            payload = tasks.binary_request(self.package, payload)
        request = validate(self.model.request_model, payload)
        body = self.model.answer(request)
        body["model"] = {"name": self.package.name, "version": self.package.version}
        return body, getattr(request, "batch", ())
