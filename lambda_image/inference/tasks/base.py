"""What every task is: one class whose request and response contract is written once, and that
answers a validated request from a package's network (docs/models.md, "Adding a task").

A subclass names its task (model_card.json's "task"), its contract (the request model without the
deployment's limits, the answers to one input and to a batch, an example request) and how it
loads and answers; inference/tasks/__init__.py registers it. Everything else derives from the
contract: validation (request_model), the API Gateway request model, docs/openapi.json, the fuzz
tests' oracle, the warm-up and the pre-traffic check (the example). An answer is an instance of
the contract's answer model, so it is checked where it is made.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydantic import BaseModel

from inference.encoder import TextEncoder
from inference.package import Backend, ModelPackage, PackageError, Variant
from inference.schema import Contract, Limits, ModelInfo, StrictRequest, TextsRequest, with_limits
from inference.settings import Settings


class Task(ABC):
    """A package's network behind its task's contract, loaded once per execution environment."""

    name: ClassVar[str]
    # The contract (docs/api.md): the request without this deployment's limits, and the answers.
    request: ClassVar[type[StrictRequest]]
    single: ClassVar[type[BaseModel]]
    batch: ClassVar[type[BaseModel]]
    example: ClassVar[dict[str, Any]]
    # Content types besides JSON whose body is the request's one input (an image's).
    binary_media_types: ClassVar[tuple[str, ...]] = ()
    # What a request's log line counts of its inputs (input_counts), how many first.
    counts: ClassVar[tuple[str, ...]] = ("texts", "chars")
    # Whether the package is a Hugging Face folder `make package` builds (else the card describes it).
    packaged_from_hugging_face: ClassVar[bool] = False

    def __init__(self, package: ModelPackage, settings: Settings) -> None:
        self.package = package
        self.settings = settings
        self.model_info = ModelInfo(name=package.name, version=package.version)
        self.request_model = self.request_model_for(package, settings.limits)

    @classmethod
    def check(cls, package: ModelPackage) -> None:
        """Refuses (PackageError, one line naming the file and the fix) a package this task cannot
        serve, from its descriptions alone: nothing is loaded. By default there is nothing to check."""
        return None

    @classmethod
    def check_serving(cls, package: ModelPackage, backend: Backend, variant: Variant) -> None:
        """Refuses (PackageError) a package this backend and variant cannot serve: by default, its
        graph for them must be there."""
        package.graph(backend, variant)

    @classmethod
    def request_model_for(cls, package: ModelPackage, limits: Limits) -> type[BaseModel]:
        """The request contract with the deployment's limits (and the package's: its label count)."""
        return cls.request

    @classmethod
    def contract(cls, package: ModelPackage) -> Contract:
        return Contract(request=cls.request, single=cls.single, batch=cls.batch, example=cls.example)

    @classmethod
    def binary_request(cls, raw: bytes) -> dict[str, Any]:
        """The request object of a body of one of binary_media_types."""
        raise NotImplementedError(f"{cls.name} takes no binary body")

    @abstractmethod
    def answer(self, request: Any) -> BaseModel:
        """The answer (single or batch, "model" included) to a request of request_model."""

    def input_counts(self, request: Any) -> dict[str, int]:
        """What the request's log line says of its inputs, never the inputs: how many (the first
        entry, also the Predictions metric), how big."""
        texts: list[str] = request.batch
        return {"texts": len(texts), "chars": sum(map(len, texts))}

    def answer_of(self, body: dict[str, Any], is_batch: bool) -> BaseModel:
        """`body` (without "model") as the contract's answer, checked."""
        model = self.batch if is_batch else self.single
        return model.model_validate({**body, "model": self.model_info})


class TextTask(Task):
    """A task over texts, served by a Hugging Face folder's tokenizer and exported graph
    (inference/encoder.py): `text` or `texts`, with the deployment's limits."""

    request: ClassVar[type[TextsRequest]]
    packaged_from_hugging_face = True
    # A task whose answers name labels (config.json's id2label).
    has_labels: ClassVar[bool] = True

    def __init__(self, package: ModelPackage, settings: Settings) -> None:
        super().__init__(package, settings)
        self.encoder = TextEncoder(
            package, settings.model_backend, settings.model_variant, settings.resolved_torch_threads
        )

    @classmethod
    def check(cls, package: ModelPackage) -> None:
        package.require_hugging_face_folder()
        if cls.has_labels and not package.labels:
            raise PackageError(
                f"{package.directory}/config.json: id2label is missing or empty; a {cls.name} model needs its labels"
            )

    @classmethod
    def request_model_for(cls, package: ModelPackage, limits: Limits) -> type[BaseModel]:
        return with_limits(cls.request, limits)
