"""The bulk job's batch event (a Distributed Map's ItemBatcher event) through the real handler and
model: the classifier, and every other demo package's task."""

import json
from typing import Any

import pytest
from pydantic import BaseModel

from inference import bulk
from inference.events import EventKind, event_kind
from tests.lambda_events import TRANSACTIONS


def batch_event(*values) -> dict:
    """What the state machine sends: its ItemSelector puts each line beside its 0-based position."""
    return {"Items": [{"index": i, "value": value} for i, value in enumerate(values)], "BatchInput": {"execution": "t"}}


def direct_answer(invoke, text) -> dict:
    """The API's answer for one text (a direct invocation answers as the API does)."""
    return invoke({"text": text})


def test_a_batch_event_is_recognised_by_its_items() -> None:
    assert event_kind(batch_event({"text": "x"})) is EventKind.BULK
    assert event_kind({"Items": []}) is EventKind.BULK
    assert event_kind({"text": "x"}) is EventKind.DIRECT
    assert event_kind({"warmup": True}) is EventKind.WARMUP


def test_each_line_gets_the_apis_answer_for_its_text_with_its_id_in_order(invoke) -> None:
    values = [{"id": f"tx-{i}", "text": text} for i, text in enumerate(TRANSACTIONS)]
    results = invoke(batch_event(*values))
    assert [r["id"] for r in results] == [v["id"] for v in values]
    for result, text in zip(results, TRANSACTIONS, strict=True):
        expected = direct_answer(invoke, text)
        assert result["label"] == expected["label"]
        assert result["model"] == expected["model"]
        assert result["score"] == pytest.approx(expected["score"], abs=1e-3)
        assert [entry["label"] for entry in result["top_k"]] == [entry["label"] for entry in expected["top_k"]]
        assert list(result) == ["id", "label", "score", "top_k", "model"]


def test_a_line_without_an_id_is_named_by_its_line_number(invoke) -> None:
    event = {
        "Items": [{"index": 41, "value": {"text": TRANSACTIONS[0]}}, {"index": 42, "value": {"id": "", "text": "x"}}]
    }
    assert [result["id"] for result in invoke(event)] == [42, 43]


def test_bad_lines_become_error_objects_and_never_fail_the_batch(invoke, handler_module) -> None:
    too_long = "x" * (handler_module.RUNTIME.settings.max_text_chars + 1)
    results = invoke(
        batch_event(
            {"id": "ok", "text": TRANSACTIONS[0]},
            {"id": "empty", "text": "   "},
            {"id": "long", "text": too_long},
            "a JSON string, not an object",
            {"id": "no text", "txt": TRANSACTIONS[1]},
            {"id": "number", "text": 42},
            {"id": "also ok", "text": TRANSACTIONS[1]},
        )
    )
    assert [r["id"] for r in results] == ["ok", "empty", "long", 4, "no text", "number", "also ok"]
    assert results[0]["label"] == direct_answer(invoke, TRANSACTIONS[0])["label"]
    assert results[6]["label"] == direct_answer(invoke, TRANSACTIONS[1])["label"]
    errors = {r["id"]: r["error"] for r in results if "error" in r}
    assert {name: (e["status"], e["code"]) for name, e in errors.items()} == {
        "empty": (400, "invalid_request"),
        "long": (413, "text_too_long"),
        4: (400, "invalid_line"),
        "no text": (400, "invalid_request"),
        "number": (400, "invalid_request"),
    }
    # The API's own message for that text alone, naming "text" (not a position in a batch).
    for name, text in (("empty", "   "), ("long", too_long), ("number", 42)):
        assert errors[name]["message"] == direct_answer(invoke, text)["error"]["message"]


def test_a_clean_batch_is_one_model_call_and_a_bad_line_costs_refusals_not_inference(handler_module) -> None:
    requests = []

    def answer(request):
        status, body = handler_module.FUNCTION._answer(EventKind.DIRECT, request)[:2]
        requests.append((status, len(request.get("texts", [None]))))
        return status, body

    runtime = handler_module.RUNTIME
    clean = batch_event(*({"text": f"{TRANSACTIONS[i % 6]} {i}"} for i in range(64)))
    bulk.answer_batch(clean, answer, runtime.package, runtime.task.request_model)
    assert requests == [(200, 64)]

    requests.clear()
    values = [{"text": f"{TRANSACTIONS[i % 6]} {i}"} for i in range(64)]
    values[37] = {"text": ""}
    results = bulk.answer_batch(batch_event(*values), answer, runtime.package, runtime.task.request_model)
    answered = [size for status, size in requests if status == 200]
    assert sum(answered) == 63 and len(answered) <= 6  # split in halves around the one bad line
    assert [i for i, r in enumerate(results) if "error" in r] == [37]


def test_more_lines_than_the_apis_batch_limit_are_split_not_refused(invoke, handler_module) -> None:
    lines = handler_module.RUNTIME.settings.max_batch + 1
    results = invoke(batch_event(*({"text": TRANSACTIONS[i % 6]} for i in range(lines))))
    assert len(results) == lines and not [r for r in results if "error" in r]


def test_a_failure_of_the_model_fails_the_batch_so_step_functions_retries_it(handler_module) -> None:
    def failing(request):
        return 500, {"error": {"code": "internal_error", "message": "internal error"}}

    runtime = handler_module.RUNTIME
    with pytest.raises(bulk.BatchFailed):
        bulk.answer_batch(
            batch_event({"text": "x"}, {"text": "y"}), failing, runtime.package, runtime.task.request_model
        )


def test_the_batch_log_line_counts_lines_and_never_holds_texts(invoke, handler_log) -> None:
    invoke(batch_event({"text": TRANSACTIONS[0]}, {"text": ""}))
    (line,) = [json.loads(line) for line in handler_log.getvalue().splitlines() if '"bulk batch"' in line]
    assert (line["event_kind"], line["items"], line["item_errors"]) == ("bulk", 2, 1)
    assert TRANSACTIONS[0] not in handler_log.getvalue()


# ---- every task ----


def assert_same_answer(bulk_answer: Any, single_answer: Any, where: str = "answer") -> None:
    """The same JSON, numbers within 1e-3: a text answered in a batch of padded texts may differ in
    the last digits from the same text answered alone."""
    if isinstance(single_answer, dict):
        assert isinstance(bulk_answer, dict) and list(bulk_answer) == list(single_answer), where
        for key, value in single_answer.items():
            assert_same_answer(bulk_answer[key], value, f"{where}.{key}")
    elif isinstance(single_answer, list):
        assert isinstance(bulk_answer, list) and len(bulk_answer) == len(single_answer), where
        for index, (got, expected) in enumerate(zip(bulk_answer, single_answer, strict=True)):
            assert_same_answer(got, expected, f"{where}[{index}]")
    elif isinstance(single_answer, float):
        assert bulk_answer == pytest.approx(single_answer, abs=1e-3), where
    else:
        assert bulk_answer == single_answer, where


@pytest.mark.parametrize(
    ("task", "field"),
    [
        ("text-classification", "text"),
        ("token-classification", "text"),
        ("feature-extraction", "text"),
        # merchant-normalizer: its predictor's Request has one text field, `sentence`.
        ("custom", "sentence"),
    ],
)
def test_each_line_of_every_task_that_takes_text_gets_that_tasks_answer_for_its_text_alone(
    invoke, serve_task, task: str, field: str
) -> None:
    serve_task(task)
    values = [{"id": f"tx-{i}", "text": text} for i, text in enumerate(TRANSACTIONS)]
    results = invoke(batch_event(*values, {"id": "blank", "text": " "}))
    for value, result in zip(values, results, strict=False):
        single = invoke({field: value["text"]})
        assert "error" not in single
        assert_same_answer(result, {"id": value["id"], **single}, value["id"])
    # A refused line gets the API's own refusal of that text alone, naming the task's field.
    blank = invoke({field: " "})["error"]
    assert results[-1] == {
        "id": "blank",
        "error": {"code": blank["code"], "message": blank["message"], "status": blank["status"]},
    }
    assert blank["message"].startswith(f"{field}: ")


def test_an_image_package_answers_every_line_with_why_it_cannot_score_text(invoke, serve_task, monkeypatch) -> None:
    runtime = serve_task("image-classification")
    asked = []
    monkeypatch.setattr(runtime.task, "answer", lambda request: asked.append(request))
    results = invoke(batch_event({"id": "a", "text": TRANSACTIONS[0]}, {"text": TRANSACTIONS[1]}, "not an object"))
    assert [result["id"] for result in results] == ["a", 2, 3]
    assert [result["error"]["code"] for result in results] == ["unsupported_model", "unsupported_model", "invalid_line"]
    assert results[0]["error"]["status"] == 400
    assert "takes images, not text" in results[0]["error"]["message"]
    assert asked == []  # nothing reached the model


class NumbersRequest(BaseModel):
    features: list[float]


class TwoTextsRequest(BaseModel):
    title: str
    body: str


class TextAndRequiredNumberRequest(BaseModel):
    text: str
    amount: float


class OneTextRequest(BaseModel):
    description: str
    top_k: int = 3


@pytest.mark.parametrize(
    ("request_model", "field"),
    [
        (OneTextRequest, "description"),
        (NumbersRequest, None),
        (TwoTextsRequest, None),
        (TextAndRequiredNumberRequest, None),
    ],
)
def test_a_custom_package_is_scored_by_its_one_text_field_when_nothing_else_is_required(
    task_runtimes, request_model: type[BaseModel], field: str | None
) -> None:
    package = task_runtimes["custom"].package
    if field:
        assert bulk.TextInput.of(package, request_model) == bulk.TextInput(field)
    else:
        with pytest.raises(bulk.NoTextInput, match="has no single text field"):
            bulk.TextInput.of(package, request_model)
