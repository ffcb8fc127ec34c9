"""Hostile and malformed input: each gets the right 4xx JSON error with a request id, never a
stack trace, and never reaches the model."""

import base64
import json

import pytest

from tests.lambda_events import http_answer, http_v2_event, rest_event

JSON = {"content-type": "application/json"}


def post(payload, **kwargs) -> dict:
    return rest_event(json.dumps(payload), headers=JSON, **kwargs)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


HOSTILE = [
    # (id, event, status, code)
    ("not-json", rest_event("STARBUCKS", headers=JSON), 400, "invalid_json"),
    ("form-fields", rest_event("text=STARBUCKS", headers={"Content-Type": "application/x-www-form-urlencoded"}), 400, "invalid_json"),
    ("whitespace-body", rest_event("  \n ", headers=JSON), 400, "invalid_json"),
    ("empty-body", rest_event("", headers=JSON), 400, "empty_body"),
    ("null-body", rest_event(None), 400, "empty_body"),
    ("json-null", rest_event("null"), 400, "invalid_request"),
    ("json-array", post(["STARBUCKS"]), 400, "invalid_request"),
    ("json-string", post("STARBUCKS"), 400, "invalid_request"),
    ("json-number", post(42), 400, "invalid_request"),
    ("empty-object", post({}), 400, "invalid_request"),
    ("neither-text-nor-texts", post({"top_k": 3}), 400, "invalid_request"),
    ("both-text-and-texts", post({"text": "a", "texts": ["b"]}), 400, "invalid_request"),
    ("empty-text", post({"text": ""}), 400, "invalid_request"),
    ("whitespace-text", post({"text": " \t\n "}), 400, "invalid_request"),
    ("number-text", post({"text": 12.5}), 400, "invalid_request"),
    ("nested-object-text", post({"text": {"text": "STARBUCKS"}}), 400, "invalid_request"),
    ("texts-not-a-list", post({"texts": "STARBUCKS"}), 400, "invalid_request"),
    ("empty-texts", post({"texts": []}), 400, "invalid_request"),
    ("empty-string-in-texts", post({"texts": ["ok", ""]}), 400, "invalid_request"),
    ("nested-list-in-texts", post({"texts": [["STARBUCKS"]]}), 400, "invalid_request"),
    ("top-k-zero", post({"text": "a", "top_k": 0}), 400, "invalid_request"),
    ("top-k-above-labels", post({"text": "a", "top_k": 11}), 400, "invalid_request"),
    ("top-k-true", post({"text": "a", "top_k": True}), 400, "invalid_request"),
    ("top-k-string", post({"text": "a", "top_k": "3"}), 400, "invalid_request"),
    ("top-k-float", post({"text": "a", "top_k": 2.5}), 400, "invalid_request"),
    ("top-k-huge", post({"text": "a", "top_k": 10**30}), 400, "invalid_request"),
    ("min-score-above-one", post({"text": "a", "min_score": 1.01}), 400, "invalid_request"),
    ("min-score-negative", post({"text": "a", "min_score": -0.5}), 400, "invalid_request"),
    ("min-score-string", post({"text": "a", "min_score": "0.9"}), 400, "invalid_request"),
    ("min-score-true", post({"text": "a", "min_score": True}), 400, "invalid_request"),
    ("min-score-null", post({"text": "a", "min_score": None}), 400, "invalid_request"),
    ("min-score-infinity", rest_event('{"text": "a", "min_score": Infinity}'), 400, "invalid_json"),
    ("unknown-field", post({"text": "a", "debug": True}), 400, "invalid_request"),
    ("nan", rest_event('{"text": "a", "top_k": NaN}'), 400, "invalid_json"),
    ("lone-surrogate-escape", rest_event('{"text": "\\ud800"}'), 400, "invalid_json"),
    ("deep-nesting", rest_event('{"text": ' + "[" * 10_000 + "]" * 10_000 + "}"), 400, "invalid_json"),
    ("huge-text", post({"text": "x" * 1001}), 413, "text_too_long"),
    ("ten-thousand-texts", post({"texts": ["STARBUCKS"] * 10_000}), 413, "too_many_texts"),
    ("body-over-limit", post({"text": "x" * 300_000}), 413, "body_too_large"),
    ("invalid-base64", rest_event("eyJ0ZXh0Ijo*!!", is_base64=True), 400, "invalid_base64"),
    ("base64-flag-on-non-ascii-text", rest_event('{"text": "café"}', is_base64=True), 400, "invalid_base64"),
    ("invalid-utf8", rest_event(b64(b'{"text": "\xff\xfe"}'), is_base64=True), 400, "invalid_utf8"),
    ("unpaired-surrogate-in-body", rest_event('{"text": "\ud800"}'), 400, "invalid_utf8"),
    ("get", rest_event(None, method="GET"), 405, "method_not_allowed"),
    ("delete", post({"text": "a"}, method="DELETE"), 405, "method_not_allowed"),
    ("unknown-path", post({"text": "a"}, path="/admin"), 404, "not_found"),
    ("root-path", post({"text": "a"}, path="/"), 404, "not_found"),
    ("text-plain", rest_event('{"text": "a"}', headers={"Content-Type": "text/plain"}), 415, "unsupported_media_type"),
    ("multipart", rest_event('{"text": "a"}', headers={"content-type": "multipart/form-data; boundary=x"}), 415, "unsupported_media_type"),
    ("latin-1-charset", rest_event('{"text": "a"}', headers={"content-type": "application/json; charset=latin-1"}), 415, "unsupported_media_type"),
    ("headers-not-an-object", {**post({"text": "a"}), "headers": "content-type: application/json"}, 400, "malformed_event"),
    ("method-not-a-string", {**post({"text": "a"}), "httpMethod": 5}, 400, "malformed_event"),
    ("v2-get", http_v2_event(None, method="GET"), 405, "method_not_allowed"),
    ("v2-without-http-context", {"version": "2.0", "requestContext": {}, "body": "{}"}, 400, "malformed_event"),
    ("v2-xml", http_v2_event("<text/>", headers={"content-type": "application/xml"}), 415, "unsupported_media_type"),
    ("direct-empty-event", {}, 400, "invalid_request"),
    ("direct-list", ["STARBUCKS"], 400, "invalid_request"),
    ("direct-string", "STARBUCKS", 400, "invalid_request"),
    ("direct-none", None, 400, "invalid_request"),
    ("direct-warmup-false", {"warmup": False}, 400, "invalid_request"),
    ("direct-s3-event", {"Records": [{"eventSource": "aws:s3"}]}, 400, "invalid_request"),
]


@pytest.fixture
def no_inference(handler_module, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("invalid input reached the model")

    monkeypatch.setattr(handler_module.RUNTIME.model, "answer", refuse)


@pytest.mark.parametrize(("event", "status", "code"), [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_hostile_input_gets_a_clear_4xx_json_error(invoke, no_inference, event, status, code):
    response = invoke(event)
    if "statusCode" in response:  # API Gateway event: an HTTP response with a JSON body
        assert response["statusCode"] == status
        assert response["headers"]["Content-Type"] == "application/json"
        raw = response["body"]
        error = json.loads(raw)["error"]
    else:  # direct invocation: the error object, with the status it would have had
        raw = json.dumps(response)
        error = response["error"]
        assert error.pop("status") == status
    assert set(error) == {"code", "message", "request_id"}
    assert error["code"] == code
    assert error["message"] and error["request_id"]
    assert "Traceback" not in raw and "File \\\"" not in raw


def test_method_not_allowed_names_the_allowed_method(invoke):
    response = invoke(rest_event(None, method="GET"))
    assert response["headers"]["Allow"] == "POST"


EVERY_TASK_HOSTILE = [
    # (id, request object, status, code, message)
    ("ranking-field-on-a-task-without-labels", {"text": "a", "top_k": 2}, 400, "invalid_request", 'top_k: unknown field (allowed: "text", "texts")'),
    ("threshold-on-a-task-without-labels", {"text": "a", "threshold": 0.5}, 400, "invalid_request", 'threshold: unknown field (allowed: "text", "texts")'),
    ("min-score-on-a-task-without-labels", {"text": "a", "min_score": 0.5}, 400, "invalid_request", 'min_score: unknown field (allowed: "text", "texts")'),
    ("blank-text", {"texts": ["a", "\u3000\t"]}, 400, "invalid_request", "texts[1]: must not be empty or only whitespace"),
    ("text-over-the-limit", {"text": "x" * 1001}, 413, "text_too_long", "text: longer than the limit of 1000 characters"),
    ("batch-over-the-limit", {"texts": ["a"] * 65}, 413, "too_many_texts", "texts: more than the limit of 64 texts (65 given)"),
    ("object-text", {"text": {"a": 1}}, 400, "invalid_request", "text: Input should be a valid string"),
]


@pytest.mark.parametrize("task", ["token-classification", "feature-extraction"])
@pytest.mark.parametrize(
    ("request_object", "status", "code", "message"), [case[1:] for case in EVERY_TASK_HOSTILE], ids=[case[0] for case in EVERY_TASK_HOSTILE]
)
def test_every_task_refuses_bad_input_naming_the_field_and_limit_before_its_model(
    invoke, handler_module, task_runtimes, monkeypatch, task, request_object, status, code, message
):
    runtime = task_runtimes[task]
    monkeypatch.setattr(handler_module, "RUNTIME", runtime)

    def refuse(*args, **kwargs):
        raise AssertionError("invalid input reached the model")

    monkeypatch.setattr(runtime.model, "answer", refuse)
    answered, body = http_answer(invoke(post(request_object)))
    assert (answered, body["error"]["code"], body["error"]["message"]) == (status, code, message)
