"""Batches of the bulk job: a Distributed Map's ItemBatcher event in, one result per item out.

The event is `{"Items": [...], "BatchInput": {...}}`; each item is `{"index": n, "value": line}`,
where the state machine's ItemSelector put the item's 0-based position beside the line it read
(a JSONL object, or a CSV row as an object of its columns). The result for an item is
`{"id": ..., **the API's answer for its text}` or `{"id": ..., "error": {...}}`, in item order;
the id is the line's own `id`, else its 1-based position (docs/operating.md, "Bulk scoring").
One bad line never fails the batch: the valid texts are answered in one request, and a refused
request is split in halves until each refused line is on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# answer(request object) -> (HTTP status, response object), as the API would answer it.
Answer = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


class BatchFailed(Exception):
    """The API failed on valid input (a 5xx): the batch fails, so Step Functions retries it."""


def is_bulk_event(event: object) -> bool:
    return isinstance(event, dict) and isinstance(event.get("Items"), list)


def answer_batch(event: dict[str, Any], answer: Answer) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    pending: list[tuple[int, str]] = []  # (position in results, text) of the lines to answer
    for position, item in enumerate(event["Items"]):
        item_id, text, error = _read_item(item, position)
        results.append({"id": item_id, "error": error} if error else {"id": item_id})
        if not error:
            pending.append((position, text))
    _answer_texts(pending, answer, results)
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


def _answer_texts(pending: list[tuple[int, Any]], answer: Answer, results: list[dict[str, Any]]) -> None:
    if not pending:
        return
    if len(pending) == 1:
        # The API's own answer to this text alone: its message names "text", not "texts[0]".
        position, text = pending[0]
        status, body = answer({"text": text})
        _check_not_a_failure(status, body)
        if status == 200:
            results[position].update(body)
        else:
            results[position]["error"] = _error(status, body["error"]["code"], body["error"]["message"])
        return
    status, body = answer({"texts": [text for _, text in pending]})
    _check_not_a_failure(status, body)
    if status == 200:
        for (position, _), prediction in zip(pending, body["predictions"], strict=True):
            results[position].update(prediction, model=body["model"])
        return
    # Refusals are decided before the model runs: splitting costs validation, not inference.
    middle = len(pending) // 2
    _answer_texts(pending[:middle], answer, results)
    _answer_texts(pending[middle:], answer, results)


def _check_not_a_failure(status: int, body: dict[str, Any]) -> None:
    if status >= 500:
        raise BatchFailed(f"the model failed on a batch ({status} {body['error']['code']})")


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "status": status}
