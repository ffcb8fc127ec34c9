"""The Lambda handler with the real model, for every kind of event it serves."""

import base64
import json

from tests.lambda_events import http_answer, http_v2_event, rest_event, sam_rest_event

STARBUCKS = "STARBUCKS STORE 10432 SEATTLE WA"


def test_sam_generated_rest_event_with_base64_body_is_answered(invoke):
    status, body = http_answer(invoke(sam_rest_event(json.dumps({"text": STARBUCKS}))))
    assert status == 200
    assert body["label"] == "food"
    assert set(body) == {"label", "score", "top_k", "model"}


def test_single_response_has_the_documented_shape(invoke, handler_module):
    status, body = http_answer(invoke(rest_event(json.dumps({"text": STARBUCKS}))))
    package = handler_module.RUNTIME.package
    assert status == 200
    assert len(body["top_k"]) == 3
    assert body["top_k"][0] == {"label": body["label"], "score": body["score"]}
    assert all(set(entry) == {"label", "score"} for entry in body["top_k"])
    assert body["model"] == {"name": package.name, "version": package.version}


def test_batch_response_keeps_input_order_without_repeating_the_model(invoke):
    texts = [STARBUCKS, "RYANAIR DUBLIN FR8J2K", "CVS/PHARMACY #04512"]
    _, forward = http_answer(invoke(rest_event(json.dumps({"texts": texts, "top_k": 1}))))
    _, backward = http_answer(invoke(rest_event(json.dumps({"texts": texts[::-1], "top_k": 1}))))
    assert set(forward) == {"predictions", "model"}
    assert [p["label"] for p in forward["predictions"]] == [p["label"] for p in backward["predictions"]][::-1]
    assert forward["predictions"][0]["label"] == "food"
    assert all(len(p["top_k"]) == 1 and "model" not in p for p in forward["predictions"])


def test_top_k_can_ask_for_every_label(invoke, handler_module):
    n_labels = len(handler_module.RUNTIME.package.labels)
    _, body = http_answer(invoke(rest_event(json.dumps({"text": STARBUCKS, "top_k": n_labels}))))
    assert len(body["top_k"]) == n_labels


def test_rest_event_with_null_headers_and_a_plain_body_is_answered(invoke):
    status, body = http_answer(invoke(rest_event(json.dumps({"text": STARBUCKS}), headers=None)))
    assert (status, body["label"]) == (200, "food")


def test_rest_event_with_no_body_or_headers_keys_is_a_400(invoke):
    status, body = http_answer(invoke({"httpMethod": "POST", "path": "/predict"}))
    assert (status, body["error"]["code"]) == (400, "empty_body")


def test_rest_event_behind_a_custom_domain_base_path_is_routed_by_its_resource(invoke):
    event = {**rest_event(json.dumps({"text": STARBUCKS})), "path": "/v1/predict"}
    status, body = http_answer(invoke(event))
    assert (status, body["label"]) == (200, "food")


def test_rest_event_of_a_greedy_resource_is_routed_by_its_path(invoke):
    event = {**rest_event(json.dumps({"text": STARBUCKS}), path="/other"), "resource": "/{proxy+}"}
    status, body = http_answer(invoke(event))
    assert (status, body["error"]["code"]) == (404, "not_found")


def test_every_answer_names_its_request_id_in_a_header(invoke):
    ok = invoke(rest_event(json.dumps({"text": STARBUCKS})))
    refused = invoke(rest_event(json.dumps({"text": ""})))
    assert ok["headers"]["X-Request-Id"]
    assert refused["headers"]["X-Request-Id"] == json.loads(refused["body"])["error"]["request_id"]


def test_http_api_v2_event_is_answered(invoke):
    status, body = http_answer(invoke(http_v2_event(json.dumps({"text": STARBUCKS}))))
    assert (status, body["label"]) == (200, "food")


def test_http_api_v2_event_on_a_named_stage_with_base64_body_is_answered(invoke):
    encoded = base64.b64encode(json.dumps({"texts": [STARBUCKS]}).encode()).decode()
    status, body = http_answer(invoke(http_v2_event(encoded, stage="prod", is_base64=True)))
    assert (status, body["predictions"][0]["label"]) == (200, "food")


def test_curl_form_content_type_is_read_as_json(invoke):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, body = http_answer(invoke(rest_event(json.dumps({"text": STARBUCKS}), headers=headers)))
    assert (status, body["label"]) == (200, "food")


def test_json_content_types_with_utf8_charset_are_accepted(invoke):
    for content_type in ("application/json; charset=UTF-8", "application/vnd.api+json"):
        status, _ = http_answer(
            invoke(rest_event(json.dumps({"text": "café"}), headers={"content-type": content_type}))
        )
        assert status == 200, content_type


def test_direct_invocation_returns_the_response_object_itself(invoke, handler_module):
    response = invoke({"text": STARBUCKS, "top_k": 2})
    assert response["label"] == "food"
    assert len(response["top_k"]) == 2
    assert response["model"]["version"] == handler_module.RUNTIME.package.version


def test_direct_invocation_error_carries_the_status_it_would_have_had(invoke):
    response = invoke({"texts": ["x" * 1001]})
    error = response["error"]
    assert (error["status"], error["code"]) == (413, "text_too_long")
    assert error["request_id"]


def test_warmup_returns_at_once_without_inference(invoke, handler_module, monkeypatch):
    def no_inference(*args, **kwargs):
        raise AssertionError("the warm-up ran the model")

    monkeypatch.setattr(handler_module.RUNTIME.task, "answer", no_inference)
    assert invoke({"warmup": True}) == {"warm": True}


def test_a_bug_is_a_500_with_the_request_id_and_no_internals(invoke, handler_module, monkeypatch, handler_log):
    def broken(*args, **kwargs):
        raise RuntimeError("tensor shape mismatch in layer 3")

    monkeypatch.setattr(handler_module.RUNTIME.task, "answer", broken)
    response = invoke(rest_event(json.dumps({"text": STARBUCKS})))
    status, body = http_answer(response)
    assert status == 500
    assert body["error"]["code"] == "internal_error"
    assert body["error"]["request_id"]
    assert "tensor" not in response["body"] and "Traceback" not in response["body"]
    logged = handler_log.getvalue()
    assert "Traceback" in logged and "tensor shape mismatch" in logged


def test_the_packages_own_route_is_answered_like_predict(invoke):
    """POST /models/<MODEL_NAME>/predict (the stack's route for this package; MODEL_NAME defaults to
    the MODEL_DIR folder's name) answers as /predict does; another package's route is a 404."""
    status, body = http_answer(
        invoke(rest_event(json.dumps({"text": STARBUCKS}), path="/models/transaction-classifier/predict"))
    )
    assert status == 200 and body["label"] == "food"
    status, body = http_answer(invoke(rest_event(json.dumps({"text": STARBUCKS}), path="/models/embeddings/predict")))
    assert (status, body["error"]["code"]) == (404, "not_found")
