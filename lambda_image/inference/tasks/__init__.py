"""The tasks the runtime serves, each with its request and response contract written once
(docs/api.md): text-classification, token-classification, feature-extraction,
image-classification, and custom (a package's own predictor.py, whose contract is the package's).

A task module holds the contract (pydantic models: the request, and the answers for one input and
for a batch, with an example request for the docs and the warm-up) and the class that answers a
validated request from a package's network. load() picks the module by the package's task. A
module may also name the binary content types its requests may be sent as (BINARY_MEDIA_TYPES,
with binary_request) and what the log line counts of its inputs (input_counts; by default texts
and characters).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any, Protocol

from pydantic import BaseModel

from inference.encoder import TextEncoder
from inference.package import TEXT_TASKS, ModelPackage, Task
from inference.schema import Contract, Limits
from inference.settings import Settings
from inference.tasks import custom, feature_extraction, image_classification, text_classification, token_classification

MODULES: dict[Task, ModuleType] = {
    "text-classification": text_classification,
    "token-classification": token_classification,
    "feature-extraction": feature_extraction,
    "image-classification": image_classification,
    "custom": custom,
}


class TaskModel(Protocol):
    """A package's network behind its task's contract."""

    request_model: type[BaseModel]

    def answer(self, request: Any) -> dict[str, Any]:
        """The response object (without "model") for a request of request_model."""
        ...


def load(package: ModelPackage, settings: Settings) -> TaskModel:
    """The package's network, loaded for its task with the deployment's settings."""
    module = MODULES[package.task]
    if package.task in TEXT_TASKS:
        encoder = TextEncoder(package, settings.model_backend, settings.model_variant, settings.resolved_torch_threads)
        model: TaskModel = module.Model(package, encoder, settings.limits, settings.defaults)
        return model
    loaded: TaskModel = module.load(package, settings)
    return loaded


def contract(package: ModelPackage) -> Contract:
    """The package's contract (docs, OpenAPI, the warm-up request): its task's, or, for a task
    whose contract is the package's own (custom), what the task module reads from the package."""
    module = MODULES[package.task]
    task_contract: Contract = module.contract(package) if hasattr(module, "contract") else module.CONTRACT
    return task_contract


def request_model(package: ModelPackage, limits: Limits) -> type[BaseModel]:
    """The request contract of a package without loading its network (docs, gateway, tests)."""
    model: type[BaseModel] = MODULES[package.task].request_model(package, limits)
    return model


def binary_media_types(package: ModelPackage) -> tuple[str, ...]:
    """The content types besides JSON whose body is the request's one input (an image)."""
    types: tuple[str, ...] = getattr(MODULES[package.task], "BINARY_MEDIA_TYPES", ())
    return types


def binary_request(package: ModelPackage, raw: bytes) -> dict[str, Any]:
    """The request object of a binary body (one of binary_media_types)."""
    request: dict[str, Any] = MODULES[package.task].binary_request(raw)
    return request


def input_counts(package: ModelPackage, inputs: Sequence[Any]) -> dict[str, int]:
    """What a request's log line says of its inputs (never the inputs): how many, how big."""
    counts = getattr(MODULES[package.task], "input_counts", None)
    return counts(inputs) if counts else {"texts": len(inputs), "chars": sum(map(len, inputs))}
