"""Batches of the bulk job: a Distributed Map's ItemBatcher event in, one result per item out.

The event is `{"Items": [...], "BatchInput": {...}}`; each item is `{"index": n, "value": line}`,
where the state machine's ItemSelector put the item's 0-based position beside the line it read
(a JSONL object, or a CSV row as an object of its columns). The result for an item is
`{"id": ..., **the API's answer for its text alone}` or `{"id": ..., "error": {...}}`, in item
order; the id is the line's own `id`, else its 1-based position (docs/operating.md, "Bulk scoring").

A line's `text` is scored by any package whose requests take a text (TextInput.of): the text tasks
(`{"text"}`), and a custom package whose request has one text field and nothing else required (the
line's text goes in that field). The text tasks take many texts in one request, so the valid texts
of a batch are answered in one request and its answer is split into each text's own answer; a
custom package's request is one line. A package that takes no text (images, a custom request of
numbers) cannot be scored by lines of text: synth and `make bulk` refuse it up front, and a batch
that reaches it anyway answers every line with that reason.

One bad line never fails the batch: a refused request is split in halves until each refused line
is on its own.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel

from inference.package import ModelPackage
from inference.tasks import TextTask, task_of

# answer(request object) -> (HTTP status, response object), as the API would answer it.
Answer = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]
Splitter = Callable[[dict[str, Any]], list[dict[str, Any]]]


class BatchFailed(Exception):
    """The API failed on valid input (a 5xx): the batch fails, so Step Functions retries it."""


class NoTextInput(ValueError):
    """The package's requests take no text: the bulk job cannot score lines of text with it."""


def _predictions(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**prediction, "model": body["model"]} for prediction in body["predictions"]]


def _embeddings(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"embedding": vector, "dims": body["dims"], "model": body["model"]} for vector in body["embeddings"]]


# How each text task's answer to {"texts": [...]} holds its answer to each {"text"} alone
# (docs/api.md); a text task not listed here is asked one line at a time.
SINGLE_ANSWERS: dict[str, Splitter] = {
    "text-classification": _predictions,
    "token-classification": _predictions,
    "feature-extraction": _embeddings,
}


@dataclass(frozen=True)
class TextInput:
    """How a package's request carries one line's text: in `field`, and for many lines at once in
    `batch_field` (whose answer `split` turns into each line's answer), if the task has one."""

    field: str
    batch_field: str | None = None
    split: Splitter | None = None

    @classmethod
    def of(cls, package: ModelPackage, request_model: type[BaseModel]) -> TextInput:
        """The package's text input; NoTextInput (one line: what it takes instead) if it has none."""
        if issubclass(task_of(package), TextTask):
            split = SINGLE_ANSWERS.get(package.task)
            return cls("text", "texts" if split else None, split)
        if package.task == "custom":
            texts = [name for name, field in request_model.model_fields.items() if _is_text(field.annotation)]
            required = [name for name, field in request_model.model_fields.items() if field.is_required()]
            if len(texts) == 1 and set(required) <= set(texts):
                return cls(texts[0])
            fields = ", ".join(request_model.model_fields) or "none"
            raise NoTextInput(
                f"{package.directory.name} is a custom package whose request ({fields}) has no single text field "
                "to put a line's text in (and nothing else required), so the bulk job cannot score lines with it"
            )
        raise NoTextInput(
            f"{package.directory.name} is an {package.task} package: it takes images, not text, so the bulk "
            "job cannot score lines with it"
        )


def _is_text(annotation: object) -> bool:
    """str, Annotated[str, ...], or either of them or None."""
    if get_origin(annotation) in (typing.Union, types.UnionType):
        options = [option for option in get_args(annotation) if option is not type(None)]
        return len(options) == 1 and _is_text(options[0])
    if get_origin(annotation) is Annotated:
        return _is_text(get_args(annotation)[0])
    return annotation is str


def is_bulk_event(event: object) -> bool:
    return isinstance(event, dict) and isinstance(event.get("Items"), list)


def answer_batch(
    event: dict[str, Any], answer: Answer, package: ModelPackage, request_model: type[BaseModel]
) -> list[dict[str, Any]]:
    """One result per item, in order, from `answer` (the package's API answers, whose request is
    `request_model`); every line gets the reason if the package takes no text."""
    text_input: TextInput | NoTextInput
    try:
        text_input = TextInput.of(package, request_model)
    except NoTextInput as reason:
        text_input = reason
    results: list[dict[str, Any]] = []
    pending: list[tuple[int, str]] = []  # (position in results, text) of the lines to answer
    for position, item in enumerate(event["Items"]):
        item_id, text, error = _read_item(item, position)
        if not error and isinstance(text_input, NoTextInput):
            error = _error(400, "unsupported_model", str(text_input))
        results.append({"id": item_id, "error": error} if error else {"id": item_id})
        if not error:
            pending.append((position, text))
    if isinstance(text_input, TextInput):
        if text_input.batch_field:
            _answer_texts(pending, answer, text_input, results)
        else:
            for line in pending:
                _answer_texts([line], answer, text_input, results)
    return results


def _read_item(item: object, position: int) -> tuple[Any, Any, dict[str, Any] | None]:
    """(id, text, error): the error when the line is not an object with a "text" field."""
    value = item.get("value") if isinstance(item, dict) else None
    index = item.get("index") if isinstance(item, dict) else None
    line_number = index + 1 if isinstance(index, int) and not isinstance(index, bool) else position + 1
    if not isinstance(value, dict):
        return line_number, None, _error(400, "invalid_line", 'the line is not a JSON object with a "text" field')
    item_id = line_number if value.get("id") in (None, "") else value["id"]
    if "text" not in value:
        return item_id, None, _error(400, "invalid_request", 'the line has no "text" field')
    return item_id, value["text"], None


def _answer_texts(
    pending: list[tuple[int, Any]], answer: Answer, text_input: TextInput, results: list[dict[str, Any]]
) -> None:
    if not pending:
        return
    if len(pending) == 1:
        # The API's own answer to this text alone: its message names the text's field, not "texts[0]".
        position, text = pending[0]
        status, body = answer({text_input.field: text})
        _check_not_a_failure(status, body)
        if status == 200:
            results[position].update(body)
        else:
            results[position]["error"] = _error(status, body["error"]["code"], body["error"]["message"])
        return
    assert text_input.batch_field and text_input.split, "only a task that takes many texts is sent many"
    status, body = answer({text_input.batch_field: [text for _, text in pending]})
    _check_not_a_failure(status, body)
    if status == 200:
        for (position, _), single in zip(pending, text_input.split(body), strict=True):
            results[position].update(single)
        return
    # Refusals are decided before the model runs: splitting costs validation, not inference.
    middle = len(pending) // 2
    _answer_texts(pending[:middle], answer, text_input, results)
    _answer_texts(pending[middle:], answer, text_input, results)


def _check_not_a_failure(status: int, body: dict[str, Any]) -> None:
    if status >= 500:
        raise BatchFailed(f"the model failed on a batch ({status} {body['error']['code']})")


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "status": status}
