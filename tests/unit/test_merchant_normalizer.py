"""The merchant-normalizer demo (model_artifacts/merchant-normalizer/, a custom package: its own
predictor.py and nn.Module) with its real trained weights, through the Lambda handler: every kind
of event, one line and a batch, the documented example (a merchant the model never trained on)."""

import base64
import json

import pytest

from inference.tasks.custom import import_predictor
from tests.lambda_events import http_answer, http_v2_event, rest_event

BLUE_BOTTLE = "SQ *BLUE BOTTLE COFFEE 1234 OAKLAND CA"  # held out of training (training/merchant_pairs.py)
LINES = {
    BLUE_BOTTLE: "Blue Bottle Coffee",
    "DD BRITISH GAS 123456": "British Gas",
    "POS 0644 09/06 BRIGHT MUSEUM BELFAST": "Bright Museum",
    "TST* JOE'S PIZZA NEW YORK NY": "Joe's Pizza",
}


@pytest.fixture
def normalizer(handler_module, task_runtimes, monkeypatch):
    """The handler serving the demo package."""
    runtime = task_runtimes["custom"]
    monkeypatch.setattr(handler_module.FUNCTION, "runtime", runtime)
    return runtime


def test_a_rest_event_gets_the_merchants_name(invoke, normalizer):
    status, body = http_answer(invoke(rest_event(json.dumps({"sentence": BLUE_BOTTLE}))))
    assert (status, body) == (
        200,
        {"output": "Blue Bottle Coffee", "model": {"name": "merchant-normalizer", "version": "1.0.0"}},
    )


def test_an_http_api_v2_event_on_a_named_stage_with_a_base64_batch_gets_a_name_per_line_in_order(invoke, normalizer):
    lines = list(LINES)
    encoded = base64.b64encode(json.dumps({"sentences": lines}).encode()).decode()
    status, body = http_answer(invoke(http_v2_event(encoded, stage="prod", is_base64=True)))
    assert status == 200
    assert body["outputs"] == list(LINES.values())
    _, backward = http_answer(invoke(http_v2_event(json.dumps({"sentences": lines[::-1]}))))
    assert backward["outputs"] == list(LINES.values())[::-1]


def test_a_direct_invocation_returns_the_answer_object_itself(invoke, normalizer):
    assert invoke({"sentence": "DD BRITISH GAS 123456"}) == {
        "output": "British Gas",
        "model": {"name": "merchant-normalizer", "version": "1.0.0"},
    }


def test_a_line_gets_the_same_name_alone_and_in_a_batch_of_other_lengths(normalizer):
    # Lines of different lengths are padded together in a batch: packing keeps each line's own.
    batch = [*LINES, "x", "AMAZON MKTP " * 10]
    outputs = normalizer.answer({"sentences": batch}).body["outputs"]
    assert outputs[: len(LINES)] == [normalizer.answer({"sentence": line}).body["output"] for line in LINES]


def test_decoding_stops_at_the_length_cap_whatever_the_line(normalizer):
    cap = import_predictor(normalizer.package.directory).MAX_OUTPUT_CHARS
    lines = ["A" * 200, "SQ *" + "LONG MERCHANT NAME " * 10, "0" * 200, "é" * 200]
    outputs = normalizer.answer({"sentences": lines}).body["outputs"]
    assert len(outputs) == len(lines) and all(len(name) <= cap for name in outputs)


def test_the_warm_up_answers_the_contracts_example(normalizer):
    answer = normalizer.warm_up()
    example = normalizer.task.contract(normalizer.package).example["sentence"]
    assert answer.input_counts == {"texts": 1, "chars": len(example)}
    assert answer.body["output"] == "Blue Bottle Coffee"


def test_the_model_card_reports_exact_match_on_merchants_never_trained_on_at_the_goal(normalizer):
    metrics = normalizer.package.card["metrics"]
    assert metrics["exact_match_unseen_merchants"] >= 0.80
    assert metrics["test_merchants"] > 500
