"""custom: a package's own predictor.py, the extension point for any model (docs/models.md,
"Your own PyTorch module").

predictor.py defines `Request` (a pydantic model: the request contract), optionally `Response`
(pydantic: the answer, for the docs), `EXAMPLE` (a request: the docs and the warm-up), and
`load(model_dir)`, returning an object whose `predict(request)` answers one validated request
with a JSON object (the runtime adds "model"). The runtime imports it by path, under a module
name of its own per package, so several packages can load in one process.

Request is served with the rules every task's request follows (one place: request_model): unknown
fields and null are refused, JSON types are taken strictly (no "3" for a number, no true for an
integer), patterns are Python's re, and the deployment's limits bound its top-level fields: a
string at most MAX_TEXT_CHARS characters, a list at most MAX_BATCH items and its strings at most
MAX_TEXT_CHARS each; a tighter max_length of the predictor's own stands. Anything deeper is
bounded by MAX_BODY_BYTES.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import sys
import types
import typing
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any, ClassVar, get_args, get_origin

import pydantic_core
from annotated_types import MaxLen
from pydantic import BaseModel, ConfigDict, ValidationError, create_model, field_validator
from pydantic.fields import FieldInfo

from inference.package import CUSTOM_CODE, Backend, ModelPackage, PackageError, Variant, one_line
from inference.schema import Contract, Limits, ModelInfo, StrictRequest
from inference.settings import Settings
from inference.tasks.base import Task

PREDICTOR = CUSTOM_CODE


def import_predictor(directory: Path) -> ModuleType:
    """The package's predictor.py as a module (imported once per folder); PackageError if it
    cannot be imported."""
    path = directory / PREDICTOR
    name = "predictor_" + hashlib.sha256(str(directory.resolve()).encode("utf-8")).hexdigest()[:16]
    if name in sys.modules:
        return sys.modules[name]
    if not path.is_file():
        raise PackageError(f"{directory}: {PREDICTOR} is missing (a custom package's code; docs/models.md)")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None  # a .py file always has both
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: pydantic resolves the module's annotations through sys.modules.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[name]
        raise PackageError(f"{path}: cannot be imported ({one_line(error)})") from None
    return module


def predictor_of(package: ModelPackage) -> ModuleType:
    """predictor.py, checked to define what the runtime needs."""
    module = import_predictor(package.directory)
    path = package.directory / PREDICTOR
    if not _is_model(getattr(module, "Request", None)):
        raise PackageError(f"{path}: defines no Request (a pydantic BaseModel: the request contract)")
    if hasattr(module, "Response") and not _is_model(module.Response):
        raise PackageError(f"{path}: Response must be a pydantic BaseModel (the answer, for the docs)")
    if not isinstance(getattr(module, "EXAMPLE", None), dict):
        raise PackageError(
            f"{path}: defines no EXAMPLE (a request object, answered by the warm-up and shown in the docs)"
        )
    if not callable(getattr(module, "load", None)):
        raise PackageError(f"{path}: defines no load(model_dir) (returns an object with predict(request))")
    return module


def _is_model(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _not_null(cls: type, value: object) -> object:
    if value is None:
        raise pydantic_core.PydanticCustomError("null_field", "must not be null: leave the field out")
    return value


def _limited_field(field: FieldInfo, limits: Limits) -> tuple[Any, FieldInfo] | None:
    """(annotation, field) with the limits, for a string or list field (optional or not); else None."""
    annotation = field.annotation
    optional = get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in get_args(annotation)
    inner = [arg for arg in get_args(annotation) if arg is not type(None)] if optional else [annotation]
    if len(inner) != 1:
        return None
    if inner[0] is str:
        return annotation, _at_most(field, limits.max_text_chars)
    if get_origin(inner[0]) is list:
        (item,) = get_args(inner[0]) or (Any,)
        if item is str or (get_origin(item) is Annotated and get_args(item)[0] is str):
            item_field = FieldInfo.from_annotation(item)
            item = Annotated[str, _at_most(item_field, limits.max_text_chars)]
        limited_list: Any = list[item]  # type: ignore[valid-type]
        return (limited_list | None if optional else limited_list), _at_most(field, limits.max_batch)
    return None


def _at_most(field: FieldInfo, limit: int) -> FieldInfo:
    """`field` with max_length at most `limit`."""
    declared = [item.max_length for item in field.metadata if isinstance(item, MaxLen)]
    if declared and min(declared) <= limit:
        return field
    limited = copy.copy(field)
    limited.metadata = [item for item in field.metadata if not isinstance(item, MaxLen)] + [MaxLen(limit)]
    return limited


def _answer_model(response: type[BaseModel] | None) -> type[BaseModel]:
    if response is None:
        return create_model("Answer", __config__=ConfigDict(extra="allow"), model=(ModelInfo, ...))
    return create_model(response.__name__, __base__=response, __module__=response.__module__, model=(ModelInfo, ...))


class CustomPredictor(Task):
    """The object predictor.load returned, behind the runtime's checks of what it takes and answers."""

    name = "custom"
    # The contract is the package's own (contract()); these are what every predictor's has.
    request = StrictRequest
    single = batch = _answer_model(None)
    example: ClassVar[dict[str, Any]] = {}

    def __init__(self, package: ModelPackage, settings: Settings) -> None:
        path = package.directory / PREDICTOR
        self.check_serving(package, settings.model_backend, settings.model_variant)
        super().__init__(package, settings)
        module = predictor_of(package)
        self.answer_model = self.contract(package).single
        if "torch" in sys.modules:  # as for every package: TORCH_THREADS, or Lambda's vCPU share
            sys.modules["torch"].set_num_threads(settings.resolved_torch_threads)
        try:
            self.predictor = module.load(package.directory)
        except Exception as error:
            raise PackageError(f"{path}: load() failed ({one_line(error)})") from None
        if not callable(getattr(self.predictor, "predict", None)):
            raise PackageError(
                f"{path}: load() returned {type(self.predictor).__name__}, which has no predict(request)"
            )
        try:
            self.request_model.model_validate(module.EXAMPLE)
        except ValueError as error:
            raise PackageError(f"{path}: EXAMPLE is not a valid request ({one_line(error)})") from None

    @classmethod
    def check(cls, package: ModelPackage) -> None:
        if not (package.directory / PREDICTOR).is_file():
            raise PackageError(
                f"{package.directory}: {PREDICTOR} is missing: a custom package is served by its own {PREDICTOR} "
                '(docs/models.md, "Your own PyTorch module"), or name another task in model_card.json'
            )

    @classmethod
    def check_serving(cls, package: ModelPackage, backend: Backend, variant: Variant) -> None:
        # Its predictor.py loads its own weights, with torch: the onnx image has none.
        if (backend, variant) != ("torch", "fp32"):
            raise PackageError(
                f"{package.directory}: a custom package ({PREDICTOR}, which loads its own weights) is served on the "
                "torch backend in fp32 only: set backend=torch and model_variant=fp32 (MODEL_BACKEND, MODEL_VARIANT)"
            )

    @classmethod
    def contract(cls, package: ModelPackage) -> Contract:
        """The predictor's contract: Request, its answer (Response with "model", or any object with
        "model" when it declares none) and EXAMPLE."""
        predictor = predictor_of(package)
        answer = _answer_model(getattr(predictor, "Response", None))
        return Contract(request=predictor.Request, single=answer, batch=answer, example=predictor.EXAMPLE)

    @classmethod
    def request_model_for(cls, package: ModelPackage, limits: Limits) -> type[BaseModel]:
        """The predictor's Request under the runtime's rules and the deployment's limits (module docstring)."""
        base: type[BaseModel] = predictor_of(package).Request
        fields = {}
        for name, field in base.model_fields.items():
            limited = _limited_field(field, limits)
            if limited is not None:
                fields[name] = limited
        model: type[BaseModel] = create_model(  # type: ignore[call-overload]
            base.__name__,
            __base__=base,
            __module__=base.__module__,
            __cls_kwargs__={"extra": "forbid", "strict": True, "regex_engine": "python-re"},
            __validators__={"_not_null": field_validator("*", mode="before")(_not_null)},
            **fields,
        )
        return model

    def input_counts(self, request: BaseModel) -> dict[str, int]:
        # A predictor's fields are its own: texts and characters where its Request names a batch of
        # texts (a `batch` property, as the text tasks' requests have), else one input.
        batch = getattr(request, "batch", None)
        if isinstance(batch, list) and all(isinstance(text, str) for text in batch):
            return super().input_counts(request)
        return {"inputs": 1}

    def answer(self, request: BaseModel) -> BaseModel:
        answer = self.predictor.predict(request)
        # A bug of the predictor's is a 500 like any other (the traceback goes to the log only).
        if not isinstance(answer, dict):
            raise TypeError(f"{PREDICTOR} of {self.package.name}: predict returned {type(answer).__name__}, not a dict")
        try:
            json.dumps(answer, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{PREDICTOR} of {self.package.name}: predict's answer is not JSON ({error})") from None
        try:
            return self.answer_model.model_validate({**answer, "model": self.model_info})
        except ValidationError as error:
            raise TypeError(
                f"{PREDICTOR} of {self.package.name}: predict's answer is not its Response ({one_line(error)})"
            ) from None
