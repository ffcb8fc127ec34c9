"""Each limit at its edge, through the handler with the deployment's defaults and the real model:
a request exactly at the limit is answered, one past it is refused before the model runs."""

import base64
import json

import pytest

from inference.settings import Settings
from tests.lambda_events import http_answer, rest_event

LIMITS = Settings.from_env()
TEXT = "CVS/PHARMACY #04512"


def padded_body(size: int) -> str:
    """A valid request padded with JSON whitespace to exactly `size` bytes."""
    body = json.dumps({"text": TEXT})
    return body[:-1] + " " * (size - len(body)) + "}"


def with_text_of(length: int) -> dict:
    """A request whose text is `length` characters long, white space around it included."""
    return {"text": "  " + ("x" * length)[: length - len(TEXT) - 3] + TEXT + "\n"}


LIMIT_EDGES = [
    # (id, request body at the limit, the same one past it, status and code past it)
    (
        "text chars",
        json.dumps(with_text_of(LIMITS.max_text_chars)),
        json.dumps(with_text_of(LIMITS.max_text_chars + 1)),
        413,
        "text_too_long",
    ),
    (
        "batch size",
        json.dumps({"texts": [TEXT] * LIMITS.max_batch}),
        json.dumps({"texts": [TEXT] * (LIMITS.max_batch + 1)}),
        413,
        "too_many_texts",
    ),
    ("body bytes", padded_body(LIMITS.max_body_bytes), padded_body(LIMITS.max_body_bytes + 1), 413, "body_too_large"),
    # A request is an object of texts: text (1 level) or texts (2 levels); anything deeper is a
    # 400 from the schema, without being walked, and the JSON parser stops at about 200 levels.
    ("nesting depth", json.dumps({"texts": [TEXT]}), json.dumps({"texts": [[TEXT]]}), 400, "invalid_request"),
]


@pytest.fixture
def model_calls(handler_module, monkeypatch):
    """The number of texts the real model was asked to classify during the test."""
    model = handler_module.RUNTIME.task
    calls = []
    real_answer = model.answer

    def counting_answer(request):
        calls.append(len(request.batch))
        return real_answer(request)

    monkeypatch.setattr(model, "answer", counting_answer)
    return calls


@pytest.mark.parametrize(
    ("at_limit", "past_limit", "status", "code"), [edge[1:] for edge in LIMIT_EDGES], ids=[e[0] for e in LIMIT_EDGES]
)
def test_a_request_at_the_limit_is_answered_and_one_past_it_is_refused_before_the_model(
    invoke, model_calls, at_limit, past_limit, status, code
):
    assert http_answer(invoke(rest_event(at_limit)))[0] == 200
    answered = list(model_calls)
    refused_status, refused = http_answer(invoke(rest_event(past_limit)))
    assert (refused_status, refused["error"]["code"]) == (status, code)
    assert model_calls == answered, "the refused request reached the model"


def test_the_body_limit_counts_decoded_bytes_of_a_base64_body(invoke):
    def encoded(size: int) -> dict:
        return rest_event(base64.b64encode(padded_body(size).encode()).decode(), is_base64=True)

    assert http_answer(invoke(encoded(LIMITS.max_body_bytes)))[0] == 200
    assert http_answer(invoke(encoded(LIMITS.max_body_bytes + 1)))[1]["error"]["code"] == "body_too_large"
