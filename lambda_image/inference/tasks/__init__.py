"""The tasks the runtime serves, each with its request and response contract written once
(docs/api.md): text-classification, token-classification and feature-extraction.

A task module holds the contract (pydantic models: the request, and the answers for one text and
for a batch), an example request for the docs, and the class that answers a validated request from
a package's network. load() picks the module by the package's task.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Protocol

from inference.encoder import TextEncoder
from inference.package import ModelPackage, Task
from inference.schema import Defaults, Limits, TextsRequest
from inference.tasks import feature_extraction, text_classification, token_classification

MODULES: dict[Task, ModuleType] = {
    "text-classification": text_classification,
    "token-classification": token_classification,
    "feature-extraction": feature_extraction,
}


class TaskModel(Protocol):
    """A package's network behind its task's contract."""

    request_model: type[TextsRequest]

    def answer(self, request: Any) -> dict[str, Any]:
        """The response object (without "model") for a request of request_model."""
        ...


def load(package: ModelPackage, encoder: TextEncoder, limits: Limits, defaults: Defaults) -> TaskModel:
    model: TaskModel = MODULES[package.task].Model(package, encoder, limits, defaults)
    return model


def request_model(package: ModelPackage, limits: Limits) -> type[TextsRequest]:
    """The request contract of a package without loading its network (docs, gateway, tests)."""
    model: type[TextsRequest] = MODULES[package.task].request_model(package, limits)
    return model
