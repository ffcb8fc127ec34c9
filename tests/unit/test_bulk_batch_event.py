"""The bulk job's batch event (a Distributed Map's ItemBatcher event) through the real handler and model."""

import json

import pytest

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

    clean = batch_event(*({"text": f"{TRANSACTIONS[i % 6]} {i}"} for i in range(64)))
    bulk.answer_batch(clean, answer)
    assert requests == [(200, 64)]

    requests.clear()
    values = [{"text": f"{TRANSACTIONS[i % 6]} {i}"} for i in range(64)]
    values[37] = {"text": ""}
    results = bulk.answer_batch(batch_event(*values), answer)
    answered = [size for status, size in requests if status == 200]
    assert sum(answered) == 63 and len(answered) <= 6  # split in halves around the one bad line
    assert [i for i, r in enumerate(results) if "error" in r] == [37]


def test_more_lines_than_the_apis_batch_limit_are_split_not_refused(invoke, handler_module) -> None:
    lines = handler_module.RUNTIME.settings.max_batch + 1
    results = invoke(batch_event(*({"text": TRANSACTIONS[i % 6]} for i in range(lines))))
    assert len(results) == lines and not [r for r in results if "error" in r]


def test_a_failure_of_the_model_fails_the_batch_so_step_functions_retries_it() -> None:
    def failing(request):
        return 500, {"error": {"code": "internal_error", "message": "internal error"}}

    with pytest.raises(bulk.BatchFailed):
        bulk.answer_batch(batch_event({"text": "x"}, {"text": "y"}), failing)


def test_the_batch_log_line_counts_lines_and_never_holds_texts(invoke, handler_log) -> None:
    invoke(batch_event({"text": TRANSACTIONS[0]}, {"text": ""}))
    (line,) = [json.loads(line) for line in handler_log.getvalue().splitlines() if '"bulk batch"' in line]
    assert (line["event_kind"], line["items"], line["item_errors"]) == ("bulk", 2, 1)
    assert TRANSACTIONS[0] not in handler_log.getvalue()
