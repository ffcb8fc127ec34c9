"""The runtime of one package: settings, package and task model, loaded once; it answers request
objects and knows nothing of events or HTTP (inference/handler.py adapts those)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inference import tasks
from inference.encoder import TextEncoder
from inference.package import ModelPackage
from inference.schema import Defaults, Limits, validate
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
        encoder = TextEncoder(package, settings.model_backend, settings.model_variant, settings.resolved_torch_threads)
        limits = Limits(max_text_chars=settings.max_text_chars, max_batch=settings.max_batch)
        defaults = Defaults(top_k=settings.default_top_k, min_score=settings.default_min_score)
        runtime = cls(settings, package, tasks.load(package, encoder, limits, defaults))
        # One answer at init: the graph's first run (allocations, kernel choice) is not a request's.
        runtime.answer({"text": "warm-up"})
        return runtime

    def answer(self, payload: object) -> tuple[dict[str, Any], list[str]]:
        """The response object for a request object, and the texts it answered; RequestError if invalid."""
        request = validate(self.model.request_model, payload)
        body = self.model.answer(request)
        body["model"] = {"name": self.package.name, "version": self.package.version}
        return body, request.batch
