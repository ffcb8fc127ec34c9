"""What every task's request contract shares (docs/api.md): the text fields and their limits, and
how invalid input becomes a RequestError.

A RequestError is an HTTP status, a stable code and a message that is safe to show: it names
fields and limits and never echoes the text. The JSON Schema of a task's request model (pydantic's
model_json_schema) is the published contract: the API Gateway request model, docs/openapi.json
and the fuzz tests' oracle all derive from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Self, TypeVar

import pydantic_core
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

# pydantic error types with a status and code of their own (any other: 400 invalid_request). A
# list over its limit is too_many_images for images, too_many_texts for any other list (a custom
# package's fields too: codes are a fixed set clients can branch on; the message names the field).
OWN_CODES = {
    "string_too_long": (413, "text_too_long"),
    "too_long": (413, "too_many_{inputs}"),
    "image_too_large": (413, "image_too_large"),
    "invalid_image": (400, "invalid_image"),
}
# Messages clearer than pydantic's defaults, formatted with the error's context (and `field`, the
# field's name, `item`, one of its items: "texts", "text").
CLEARER_MESSAGES = {
    "string_too_long": "longer than the limit of {max_length} characters",
    "too_long": "more than the limit of {max_length} {field} ({actual_length} given)",
    "model_type": "the request must be a JSON object",
    "string_pattern_mismatch": "must not be empty or only whitespace",
    "string_too_short": "must not be empty or only whitespace",
    "too_short": "must hold at least one {item}",
    "string_unicode": "must be valid Unicode text",
}
LONGEST_FIELD_NAME_SHOWN = 40
# A text must hold something besides white space (Python's str.isspace, as the oracle's re does).
NOT_BLANK = r"\S"


RequestModel = TypeVar("RequestModel", bound=BaseModel)


class RequestError(Exception):
    """A request the API refuses with a 4xx status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="stable, e.g. invalid_request, text_too_long, unsupported_media_type")
    message: str = Field(description="names the field and the limit, never echoes the text")
    request_id: str = Field(description="the request's id, also in the X-Request-Id header and the log line")


class ErrorAnswer(BaseModel):
    """Every error the API answers, the function's and API Gateway's own (docs/api.md, "Errors")."""

    model_config = ConfigDict(extra="forbid")
    error: ErrorDetail


def error_answer(code: str, message: str, request_id: str, status: int | None = None) -> dict[str, Any]:
    """The error envelope; a direct invocation's also carries the HTTP status it would have had."""
    detail = ErrorAnswer(error=ErrorDetail(code=code, message=message, request_id=request_id)).model_dump()
    if status is not None:
        detail["error"]["status"] = status
    return detail


# An image of 4096 x 4096 pixels (RGBA: 64 MB decoded) is the largest an image package decodes by default.
DEFAULT_MAX_IMAGE_PIXELS = 4096 * 4096
DEFAULT_MAX_IMAGE_BYTES = 262144


@dataclass(frozen=True)
class Limits:
    """The deployment's limits on a request (Settings: MAX_TEXT_CHARS, MAX_BATCH; for images
    MAX_BODY_BYTES per encoded image, whichever way it came, and MAX_IMAGE_PIXELS)."""

    max_text_chars: int
    max_batch: int
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS


def _integral_number_as_int(value: object) -> object:
    """JSON has one number type: 3.0 is the integer 3 (as JSON Schema says), 3.5 is no integer."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def json_int(**constraints: Any) -> Any:
    """An integer field's type: strict (no "3", no true), but 3.0 is 3; `constraints` (ge=1, ...)
    come first, so that they stay in the published schema as minimum/maximum."""
    return Annotated[int, Field(**constraints), BeforeValidator(_integral_number_as_int)]


# json_int(ge=1) as a type alias mypy reads, for annotations (a call is not a type to it).
PositiveJsonInt = Annotated[int, Field(ge=1), BeforeValidator(_integral_number_as_int)]


class StrictRequest(BaseModel):
    """What every task's request shares: unknown fields refused, no type coercion, and an optional
    field is left out or given a value; null is refused, as the published schema says."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, regex_engine="python-re")

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise pydantic_core.PydanticCustomError("null_field", "must not be null: leave the field out")
        return value


class TextsRequest(StrictRequest):
    """`text` or `texts`, exactly one: the request shape every text task shares."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["text"]}, {"required": ["texts"]}]})

    text: str | None = None
    texts: list[str] | None = None

    @model_validator(mode="after")
    def _exactly_one_of_text_and_texts(self) -> Self:
        if (self.text is None) == (self.texts is None):
            raise pydantic_core.PydanticCustomError("text_xor_texts", 'give exactly one of "text" or "texts"')
        return self

    @property
    def batch(self) -> list[str]:
        return self.texts if self.texts is not None else [self.text or ""]

    @property
    def is_batch(self) -> bool:
        return self.texts is not None


class ModelInfo(BaseModel):
    """Which package answered: model_card.json's name and version."""

    model_config = ConfigDict(extra="forbid")
    name: str
    version: str


@dataclass(frozen=True)
class Contract:
    """A task's contract: the request (without this deployment's limits), the answers to one text
    and to a batch, and an example request for the docs."""

    request: type[BaseModel]
    single: type[BaseModel]
    batch: type[BaseModel]
    example: dict[str, Any]


def with_limits(base: type[TextsRequest], limits: Limits, **fields: Any) -> type[TextsRequest]:
    """`base` with the deployment's limits on its texts, and `fields` (name=(type, default))
    narrowed to this model (top_k up to its label count, ...)."""
    text = Annotated[
        str,
        StringConstraints(min_length=1, max_length=limits.max_text_chars),
        Field(pattern=NOT_BLANK, description=f"1 to {limits.max_text_chars} characters, not only white space"),
    ]
    texts = Annotated[
        list[text],
        Field(min_length=1, max_length=limits.max_batch, description=f"1 to {limits.max_batch} texts"),
    ]
    return create_model(
        base.__name__,
        __base__=base,
        __module__=base.__module__,
        text=(text | None, None),
        texts=(texts | None, None),
        **fields,
    )


class ContractJsonSchema(GenerateJsonSchema):
    """The published JSON Schema of a contract: a request's optional field is shown as its type
    alone (null is refused: leaving the field out is how a client says "none"), and so is an
    answer's field that is left out rather than null; an answer's required field that may be null
    (a label under min_score) keeps its null."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        if self.mode == "validation":
            return self.generate_inner(schema["schema"])
        return super().nullable_schema(schema)

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        if schema.get("default") is None:
            inner = schema["schema"]
            return self.generate_inner(inner["schema"] if inner["type"] == "nullable" else inner)
        return super().default_schema(schema)


def contract_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON Schema (draft 2020-12) as published: docs/openapi.json, the API Gateway model."""
    return model.model_json_schema(schema_generator=ContractJsonSchema)


def validate(model: type[RequestModel], data: object) -> RequestModel:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _request_error(error, list(model.model_fields)) from None


def parse_json(body: str | bytes) -> object:
    """Parse a JSON body; pydantic's parser also refuses NaN/Infinity, nesting over 200 levels
    and, in bytes, invalid UTF-8."""
    try:
        return pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError as error:
        raise RequestError(400, "invalid_json", f"the body is not valid JSON: {error}") from None


def _request_error(error: ValidationError, allowed_fields: list[str]) -> RequestError:
    problems = error.errors(include_url=False, include_input=False)
    first = problems[0]
    field = str(first["loc"][0]) if first["loc"] else "items"
    status, code = OWN_CODES.get(first["type"], (400, "invalid_request"))
    code = code.format(inputs="images" if field == "images" else "texts")
    if first["type"] == "extra_forbidden":
        message = "unknown field (allowed: " + ", ".join(f'"{name}"' for name in allowed_fields) + ")"
    else:
        template = CLEARER_MESSAGES.get(first["type"])
        context = {**first.get("ctx", {}), "field": field, "item": field.removesuffix("s")}
        # A ValueError raised by a model's own validator (a custom package's Request) speaks for itself.
        message = template.format(**context) if template else first["msg"].removeprefix("Value error, ")
    where = _location(first["loc"])
    if where:
        message = f"{where}: {message}"
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return RequestError(status, code, message)


def _location(loc: tuple[int | str, ...]) -> str:
    """("texts", 2) -> "texts[2]"; field names come from the client, so long ones are cut."""
    where = ""
    for part in loc:
        if isinstance(part, int):
            where += f"[{part}]"
        else:
            name = part if len(part) <= LONGEST_FIELD_NAME_SHOWN else part[:LONGEST_FIELD_NAME_SHOWN] + "..."
            where += f".{name}" if where else name
    return where
