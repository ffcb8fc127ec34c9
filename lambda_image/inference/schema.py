"""The request contract of POST /predict (DESIGN.md section 2), validated with pydantic.

Invalid input becomes a RequestError: an HTTP status, a stable code and a message that is
safe to show (it names fields and limits, never echoes the text).
"""

from typing import Annotated

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

# pydantic error types that mean "too big" rather than "malformed".
TOO_LARGE = {"string_too_long": "text_too_long", "too_long": "too_many_texts"}
# Messages clearer than pydantic's defaults, formatted with the error's context.
CLEARER_MESSAGES = {
    "string_too_long": "longer than the limit of {max_length} characters",
    "too_long": "more than the limit of {max_length} texts ({actual_length} given)",
    "model_type": "the request must be a JSON object",
    "extra_forbidden": 'unknown field (allowed: "text", "texts", "top_k")',
    "string_too_short": "must not be empty or only whitespace",
    "too_short": "must hold at least one text",
    "string_unicode": "must be valid Unicode text",
}
LONGEST_FIELD_NAME_SHOWN = 40


class RequestError(Exception):
    """A request the API refuses with a 4xx status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class PredictRequest(BaseModel):
    """The validated request. Build it through RequestSchema, which adds the runtime limits."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    text: str | None = None
    texts: list[str] | None = None
    top_k: int | None = None

    @model_validator(mode="after")
    def _exactly_one_of_text_and_texts(self) -> "PredictRequest":
        if (self.text is None) == (self.texts is None):
            raise pydantic_core.PydanticCustomError("text_xor_texts", 'give exactly one of "text" or "texts"')
        return self

    @property
    def batch(self) -> list[str]:
        return self.texts if self.texts is not None else [self.text]


class RequestSchema:
    """PredictRequest with the limits of this deployment and model applied."""

    def __init__(self, *, max_text_chars: int, max_batch: int, n_labels: int) -> None:
        Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=max_text_chars)]

        class LimitedPredictRequest(PredictRequest):
            text: Text | None = None
            texts: Annotated[list[Text], Field(min_length=1, max_length=max_batch)] | None = None
            top_k: Annotated[int, Field(ge=1, le=n_labels)] | None = None

        self._model = LimitedPredictRequest

    def validate(self, data: object) -> PredictRequest:
        try:
            return self._model.model_validate(data)
        except ValidationError as error:
            raise _request_error(error) from None


def parse_json(body: str | bytes) -> object:
    """Parse a JSON body; pydantic's parser also refuses NaN/Infinity, nesting over 200 levels
    and, in bytes, invalid UTF-8."""
    try:
        return pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError as error:
        raise RequestError(400, "invalid_json", f"the body is not valid JSON: {error}") from None


def _request_error(error: ValidationError) -> RequestError:
    problems = error.errors(include_url=False, include_input=False)
    first = problems[0]
    status, code = (413, TOO_LARGE[first["type"]]) if first["type"] in TOO_LARGE else (400, "invalid_request")
    template = CLEARER_MESSAGES.get(first["type"])
    message = template.format(**first.get("ctx", {})) if template else first["msg"]
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
