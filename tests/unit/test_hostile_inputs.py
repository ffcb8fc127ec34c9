"""Hostile and malformed input: each gets the right 4xx JSON error with a request id, never a
stack trace, and never reaches the model."""

import base64
import json

import pytest
from PIL import Image

from tests.images import (
    JPEG_7,
    PNG_7,
    PNG_SIGNATURE,
    encoded,
    jpeg_claiming,
    png_claiming,
    png_with_corrupt_pixels,
    png_with_text_bomb,
)
from tests.lambda_events import http_answer, http_v2_event, rest_event

JSON = {"content-type": "application/json"}


def post(payload, **kwargs) -> dict:
    return rest_event(json.dumps(payload), headers=JSON, **kwargs)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


HOSTILE = [
    # (id, event, status, code)
    ("not-json", rest_event("STARBUCKS", headers=JSON), 400, "invalid_json"),
    (
        "form-fields",
        rest_event("text=STARBUCKS", headers={"Content-Type": "application/x-www-form-urlencoded"}),
        400,
        "invalid_json",
    ),
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
    (
        "multipart",
        rest_event('{"text": "a"}', headers={"content-type": "multipart/form-data; boundary=x"}),
        415,
        "unsupported_media_type",
    ),
    (
        "latin-1-charset",
        rest_event('{"text": "a"}', headers={"content-type": "application/json; charset=latin-1"}),
        415,
        "unsupported_media_type",
    ),
    (
        "headers-not-an-object",
        {**post({"text": "a"}), "headers": "content-type: application/json"},
        400,
        "malformed_event",
    ),
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

    monkeypatch.setattr(handler_module.RUNTIME.task, "answer", refuse)


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
    assert "Traceback" not in raw and 'File \\"' not in raw


def test_method_not_allowed_names_the_allowed_method(invoke):
    response = invoke(rest_event(None, method="GET"))
    assert response["headers"]["Allow"] == "POST"


EVERY_TASK_HOSTILE = [
    # (id, request object, status, code, message)
    (
        "ranking-field-on-a-task-without-labels",
        {"text": "a", "top_k": 2},
        400,
        "invalid_request",
        'top_k: unknown field (allowed: "text", "texts")',
    ),
    (
        "threshold-on-a-task-without-labels",
        {"text": "a", "threshold": 0.5},
        400,
        "invalid_request",
        'threshold: unknown field (allowed: "text", "texts")',
    ),
    (
        "min-score-on-a-task-without-labels",
        {"text": "a", "min_score": 0.5},
        400,
        "invalid_request",
        'min_score: unknown field (allowed: "text", "texts")',
    ),
    (
        "blank-text",
        {"texts": ["a", "\u3000\t"]},
        400,
        "invalid_request",
        "texts[1]: must not be empty or only whitespace",
    ),
    (
        "text-over-the-limit",
        {"text": "x" * 1001},
        413,
        "text_too_long",
        "text: longer than the limit of 1000 characters",
    ),
    (
        "batch-over-the-limit",
        {"texts": ["a"] * 65},
        413,
        "too_many_texts",
        "texts: more than the limit of 64 texts (65 given)",
    ),
    ("object-text", {"text": {"a": 1}}, 400, "invalid_request", "text: Input should be a valid string"),
]


@pytest.mark.parametrize("task", ["token-classification", "feature-extraction"])
@pytest.mark.parametrize(
    ("request_object", "status", "code", "message"),
    [case[1:] for case in EVERY_TASK_HOSTILE],
    ids=[case[0] for case in EVERY_TASK_HOSTILE],
)
def test_every_task_refuses_bad_input_naming_the_field_and_limit_before_its_model(
    invoke, handler_module, task_runtimes, monkeypatch, task, request_object, status, code, message
):
    runtime = task_runtimes[task]
    monkeypatch.setattr(handler_module.FUNCTION, "runtime", runtime)

    def refuse(*args, **kwargs):
        raise AssertionError("invalid input reached the model")

    monkeypatch.setattr(runtime.task, "answer", refuse)
    answered, body = http_answer(invoke(post(request_object)))
    assert (answered, body["error"]["code"], body["error"]["message"]) == (status, code, message)


def image_events(raw: bytes, content_type: str = "image/png") -> dict:
    return rest_event(b64(raw), headers={"Content-Type": content_type}, is_base64=True)


IMAGE_HOSTILE = [
    # (id, event, status, code): sent to the digits package (image-classification)
    ("gif-content-type", image_events(b"GIF89a\x01\x00\x01\x00", "image/gif"), 415, "unsupported_media_type"),
    ("text-plain", rest_event("7", headers={"Content-Type": "text/plain"}), 415, "unsupported_media_type"),
    ("octet-stream", image_events(PNG_7, "application/octet-stream"), 415, "unsupported_media_type"),
    ("empty-png-body", rest_event("", headers={"Content-Type": "image/png"}, is_base64=True), 400, "empty_body"),
    ("body-over-the-limit", image_events(PNG_7 + bytes(300_000)), 413, "body_too_large"),
    ("json-image-over-the-limit", {"image": b64(PNG_7 + bytes(300_000))}, 413, "image_too_large"),
    ("png-claiming-30000x30000", image_events(png_claiming(30_000, 30_000)), 413, "image_too_large"),
    ("png-claiming-5000x5000", {"image": b64(png_claiming(5000, 5000))}, 413, "image_too_large"),
    ("png-claiming-100000x100000", image_events(png_claiming(100_000, 100_000)), 413, "image_too_large"),
    ("jpeg-claiming-65000x65000", image_events(jpeg_claiming(65_000, 65_000), "image/jpeg"), 413, "image_too_large"),
    ("png-claiming-0x0", image_events(png_claiming(0, 0)), 400, "invalid_image"),
    ("truncated-png", image_events(PNG_7[: len(PNG_7) // 2]), 400, "invalid_image"),
    ("truncated-jpeg", image_events(JPEG_7[: len(JPEG_7) // 2], "image/jpeg"), 400, "invalid_image"),
    ("png-signature-only", image_events(PNG_SIGNATURE), 400, "invalid_image"),
    ("png-corrupt-pixels", image_events(png_with_corrupt_pixels()), 400, "invalid_image"),
    ("png-bad-crc", image_events(PNG_7[:29] + b"\x00\x00\x00\x00" + PNG_7[33:]), 400, "invalid_image"),
    ("png-text-chunk-bomb", image_events(png_with_text_bomb()), 400, "invalid_image"),
    ("gif-polyglot-holding-a-png", image_events(b"GIF89a" + PNG_7), 400, "invalid_image"),
    ("html-polyglot-holding-a-png", image_events(b"<html><script>alert(1)</script>" + PNG_7), 400, "invalid_image"),
    ("gif-as-image-png", image_events(encoded(Image.new("L", (8, 8)), "GIF")), 400, "invalid_image"),
    ("bmp-as-image-jpeg", image_events(encoded(Image.new("L", (8, 8)), "BMP"), "image/jpeg"), 400, "invalid_image"),
    ("webp-in-json", {"image": b64(encoded(Image.new("RGB", (8, 8)), "WEBP"))}, 400, "invalid_image"),
    ("json-in-an-image-body", image_events(b'{"image": "iVBORw0KGgo="}'), 400, "invalid_image"),
    ("garbage-bytes", image_events(bytes(range(256)) * 4), 400, "invalid_image"),
    (
        "png-body-not-base64-flagged",
        rest_event("\u2030PNG", headers={"Content-Type": "image/png"}),
        400,
        "invalid_image",
    ),
    (
        "invalid-base64-event",
        rest_event("iVBOR*!!", headers={"Content-Type": "image/png"}, is_base64=True),
        400,
        "invalid_base64",
    ),
    ("invalid-base64-image", {"image": "iVBOR*!!"}, 400, "invalid_image"),
    ("non-ascii-base64-image", {"image": "iVBORw0KGgo\u00e9"}, 400, "invalid_image"),
    ("data-url", {"image": "data:image/png;base64," + b64(PNG_7)}, 400, "invalid_image"),
    ("image-number", {"image": 7}, 400, "invalid_request"),
    ("image-null", {"image": None}, 400, "invalid_request"),
    ("image-empty", {"image": ""}, 400, "invalid_request"),
    ("image-and-images", {"image": b64(PNG_7), "images": [b64(PNG_7)]}, 400, "invalid_request"),
    ("neither-image-nor-images", {"top_k": 1}, 400, "invalid_request"),
    ("text-to-an-image-model", {"text": "SEVEN"}, 400, "invalid_request"),
    ("empty-images", {"images": []}, 400, "invalid_request"),
    ("one-bad-image-in-a-batch", {"images": [b64(PNG_7), b64(PNG_7[:40])]}, 400, "invalid_image"),
    ("sixty-five-images", {"images": [b64(PNG_7)] * 65}, 413, "too_many_images"),
    ("top-k-above-labels", {"image": b64(PNG_7), "top_k": 11}, 400, "invalid_request"),
    (
        "v2-gif",
        http_v2_event(b64(b"GIF89a"), headers={"content-type": "image/gif"}, is_base64=True),
        415,
        "unsupported_media_type",
    ),
]


@pytest.mark.parametrize(
    ("event", "status", "code"), [case[1:] for case in IMAGE_HOSTILE], ids=[case[0] for case in IMAGE_HOSTILE]
)
def test_hostile_images_get_a_clear_4xx_json_error_before_the_model(
    invoke, serve_task, monkeypatch, event, status, code
):
    runtime = serve_task("image-classification")

    def refuse(*args, **kwargs):
        raise AssertionError("invalid input reached the model")

    monkeypatch.setattr(runtime.task, "answer", refuse)
    response = invoke(event)
    if "statusCode" in response:
        answered, body = http_answer(response)
        raw = response["body"]
    else:
        raw, body = json.dumps(response), response
        answered = body["error"].pop("status")
    assert (answered, body["error"]["code"]) == (status, code), body
    assert set(body["error"]) == {"code", "message", "request_id"}
    assert "Traceback" not in raw and 'File \\"' not in raw and "PIL" not in raw


@pytest.mark.parametrize(
    ("request_object", "message"),
    [
        ({"image": b64(png_claiming(5000, 5000))}, "image: 5000x5000 pixels, over the limit of 16777216 pixels"),
        # Past twice Pillow's own limit, Pillow refuses it while reading the header.
        ({"image": b64(png_claiming(30_000, 30_000))}, "image: more pixels than the limit of 16777216"),
        ({"images": [b64(PNG_7), b64(PNG_7[:60])]}, "images[1]: a truncated or corrupt PNG image"),
        ({"image": b64(b"GIF89a" + PNG_7)}, "image: not a PNG or JPEG image"),
        ({"image": b64(PNG_7 + bytes(300_000))}, "image: 300186 bytes, over the limit of 262144 bytes"),
        ({"images": [b64(PNG_7)] * 65}, "images: more than the limit of 64 images (65 given)"),
        ({"images": []}, "images: must hold at least one image"),
        ({"image": "%%%"}, "image: not valid base64"),
    ],
)
def test_an_image_refusal_names_the_field_and_the_limit(invoke, serve_task, request_object, message):
    serve_task("image-classification")
    assert invoke(request_object)["error"]["message"] == message


def test_a_text_package_refuses_an_image_body_as_before(invoke):
    _, body = http_answer(invoke(image_events(PNG_7)))
    assert body["error"] == {
        **body["error"],
        "code": "unsupported_media_type",
        "message": "send the request as Content-Type: application/json (UTF-8)",
    }


CUSTOM_HOSTILE = [
    # (id, request object, status, code, message): the demo merchant-normalizer's own contract
    # (its predictor.py's Request) under the runtime's rules.
    (
        "text-tasks-field",
        {"text": "a"},
        400,
        "invalid_request",
        'text: unknown field (allowed: "sentence", "sentences")',
    ),
    ("neither", {}, 400, "invalid_request", 'give exactly one of "sentence" or "sentences"'),
    (
        "both",
        {"sentence": "a", "sentences": ["b"]},
        400,
        "invalid_request",
        'give exactly one of "sentence" or "sentences"',
    ),
    ("null-sentence", {"sentence": None}, 400, "invalid_request", "sentence: must not be null: leave the field out"),
    (
        "blank-sentence",
        {"sentence": " \t\u3000"},
        400,
        "invalid_request",
        "sentence: must not be empty or only whitespace",
    ),
    ("empty-sentence", {"sentence": ""}, 400, "invalid_request", "sentence: must not be empty or only whitespace"),
    ("number-sentence", {"sentence": 12.5}, 400, "invalid_request", "sentence: Input should be a valid string"),
    (
        "sentences-not-a-list",
        {"sentences": "SQ *BLUE BOTTLE"},
        400,
        "invalid_request",
        "sentences: Input should be a valid list",
    ),
    ("empty-sentences", {"sentences": []}, 400, "invalid_request", "sentences: must hold at least one sentence"),
    ("nested-list", {"sentences": [["a"]]}, 400, "invalid_request", "sentences[0]: Input should be a valid string"),
    (
        "blank-in-batch",
        {"sentences": ["a", "  "]},
        400,
        "invalid_request",
        "sentences[1]: must not be empty or only whitespace",
    ),
    # The predictor's own limits, tighter than the deployment's (1000 characters).
    (
        "sentence-over-its-limit",
        {"sentence": "x" * 201},
        413,
        "text_too_long",
        "sentence: longer than the limit of 200 characters",
    ),
    (
        "batch-over-its-limit",
        {"sentences": ["a"] * 65},
        413,
        "too_many_texts",
        "sentences: more than the limit of 64 sentences (65 given)",
    ),
    (
        "long-line-in-batch",
        {"sentences": ["a", "x" * 201]},
        413,
        "text_too_long",
        "sentences[1]: longer than the limit of 200 characters",
    ),
]


@pytest.mark.parametrize(
    ("request_object", "status", "code", "message"),
    [case[1:] for case in CUSTOM_HOSTILE],
    ids=[case[0] for case in CUSTOM_HOSTILE],
)
def test_a_custom_package_refuses_bad_input_by_its_own_contract_before_its_model(
    invoke, handler_module, task_runtimes, monkeypatch, request_object, status, code, message
):
    runtime = task_runtimes["custom"]
    monkeypatch.setattr(handler_module.FUNCTION, "runtime", runtime)

    def refuse(*args, **kwargs):
        raise AssertionError("invalid input reached the model")

    monkeypatch.setattr(runtime.task, "answer", refuse)
    for event in (post(request_object), request_object):  # through API Gateway, and invoked directly
        response = invoke(event)
        answered, body = (
            http_answer(response) if "statusCode" in response else (response["error"].pop("status"), response)
        )
        assert (answered, body["error"]["code"], body["error"]["message"]) == (status, code, message)
        assert "Traceback" not in json.dumps(body)
