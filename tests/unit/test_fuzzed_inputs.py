"""Fuzzing the handler (hypothesis) for every task: whatever event arrives, the answer is well formed.

A valid request gets a 200 in the shape of its task's answer model, anything else a 4xx JSON
error in the contract's shape; never an exception, a 5xx or a traceback, and the request text
never reaches the logs or metrics. The oracle is the published contract itself: the task's JSON
Schema (inference/schema.py contract_schema, what docs/openapi.json and the gateway publish),
checked by jsonschema, not by the handler's pydantic code. Each test runs the examples of the
hypothesis profile in tests/conftest.py (the regular suite: 250; `make fuzz`: 5,000) for each
task's package, but the ones whose every example runs the model run a fifth of them (at least
100). Nothing is patched but which package the handler serves: real models answer. For the image
package, bytes of every kind (real images of any mode and size, mutated, truncated, spliced) go into
the decoder as bodies and as base64 fields.
"""

import base64
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from PIL import Image

from inference.events import EventKind, event_kind
from inference.schema import contract_schema
from inference.settings import Settings
from inference.tasks import contract
from inference.tasks.custom import import_predictor
from tests.images import JPEG_7, PNG_7, encoded, png_claiming, sevens
from tests.images import b64 as b64_bytes
from tests.lambda_events import http_v2_event, rest_event, sam_rest_event

LIMITS = Settings.from_env()
# Starts every text the fuzzing sends: it stands for a card-statement line (personal data).
CANARY = "CANARY-4111-JOHN-Q-PUBLIC"
ERROR_STATUSES = {400, 404, 405, 413, 415}
ERROR_CODES = {
    "invalid_json", "invalid_request", "empty_body", "invalid_base64", "invalid_utf8", "malformed_event",
    "not_found", "method_not_allowed", "text_too_long", "too_many_texts", "body_too_large", "unsupported_media_type",
    "invalid_image", "image_too_large", "too_many_images",
}  # fmt: skip
# The one log line per request: Powertools' Lambda context keys, then the handler's counts.
# Every example of the valid-request test runs the model; invalid ones are answered in about a millisecond.
# settings(): the profile's (100 in the suite, 1,000 under `make fuzz`, all of a smaller profile's).
PROFILE_EXAMPLES = settings().max_examples
MODEL_EXAMPLES = settings(max_examples=max(min(100, PROFILE_EXAMPLES), PROFILE_EXAMPLES // 5))
LOG_KEYS = {
    "level", "location", "message", "timestamp", "service", "cold_start", "function_name", "function_memory_size",
    "function_arn", "function_request_id", "event_kind", "status", "error_code", "labels", "latency_ms",
}  # fmt: skip
# What the log line counts of the inputs, per kind of package.
COUNT_KEYS = {"texts": {"texts", "chars"}, "images": {"images", "bytes"}}
# How base64 PNG and JPEG files start: no image may reach the logs either.
IMAGE_PREFIXES = ("iVBORw0KGgo", "/9j/")

# --- request objects -----------------------------------------------------------------------
TEXT = st.text(max_size=60).map(lambda tail: f"{CANARY} {tail}")
# The fields holding one input and a batch: the text tasks', or a custom package's own (the demo's).
INPUT_FIELDS = {"custom": ("sentence", "sentences"), "image-classification": ("image", "images")}


def input_fields(runtime) -> tuple[str, str]:
    return INPUT_FIELDS.get(runtime.package.task, ("text", "texts"))


def is_image_task(runtime) -> bool:
    return runtime.package.task == "image-classification"


# (mode, format, bands of the raw pixels drawn): every mode PNG or JPEG stores.
IMAGE_KINDS = [
    ("L", "PNG", 1), ("RGB", "PNG", 3), ("RGBA", "PNG", 4), ("LA", "PNG", 2), ("1", "PNG", 1), ("P", "PNG", 1),
    ("I;16", "PNG", 1), ("L", "JPEG", 1), ("RGB", "JPEG", 3), ("CMYK", "JPEG", 4),
]  # fmt: skip


@st.composite
def images(draw) -> bytes:
    """A real PNG or JPEG of any size from 1x1 to 64x48, of random pixels, in any of IMAGE_KINDS."""
    width, height = draw(st.integers(1, 64)), draw(st.integers(1, 48))
    mode, format, bands = draw(st.sampled_from(IMAGE_KINDS))
    pixels = draw(st.binary(min_size=width * height * bands, max_size=width * height * bands))
    if mode == "I;16":
        image = Image.fromarray(np.frombuffer(pixels, dtype=np.uint8).reshape(height, width).astype(np.uint16) * 257)
    elif mode in ("1", "P"):
        image = Image.frombytes("L", (width, height), pixels).convert(mode)
    else:
        image = Image.frombytes(mode, (width, height), pixels)
    return encoded(image, format)


IMAGES = images().map(b64_bytes)
# Images the oracle knows are valid: any other string drawn where an image goes is not one.
KNOWN_IMAGES = [b64_bytes(raw) for raw in sevens().values()]


def valid_requests(runtime) -> st.SearchStrategy:
    """Requests the runtime's contract accepts: an input or a batch (texts, images, a custom
    package's own fields), and its task's own fields."""
    optional: dict[str, st.SearchStrategy[Any]] = {}
    if is_image_task(runtime):
        optional["top_k"] = st.integers(1, len(runtime.package.labels))
        return st.fixed_dictionaries({"image": IMAGES}, optional=optional) | st.fixed_dictionaries(
            {"images": st.lists(IMAGES, min_size=1, max_size=8)}, optional=optional
        )
    if runtime.package.task == "text-classification":
        optional["top_k"] = st.integers(1, len(runtime.package.labels))
        if runtime.package.multi_label:
            optional["threshold"] = st.floats(0, 1)
        else:
            optional["min_score"] = st.floats(0, 1)
    one, batch = input_fields(runtime)
    return st.fixed_dictionaries({one: TEXT}, optional=optional) | st.fixed_dictionaries(
        {batch: st.lists(TEXT, min_size=1, max_size=8)}, optional=optional
    )


IMAGES_OVER_A_LIMIT = st.one_of(
    st.integers(LIMITS.max_batch + 1, 4 * LIMITS.max_batch).map(lambda n: {"images": [b64_bytes(PNG_7)] * n}),
    st.integers(LIMITS.max_body_bytes - len(JPEG_7) + 1, 2 * LIMITS.max_body_bytes).map(
        lambda n: {"image": b64_bytes(JPEG_7 + bytes(n))}
    ),
    st.tuples(st.integers(1, 1 << 20), st.integers(1, 1 << 20))
    .filter(lambda size: size[0] * size[1] > LIMITS.max_image_pixels)
    .map(lambda size: {"images": [b64_bytes(PNG_7), b64_bytes(png_claiming(*size))]}),
)


def over_a_limit(runtime) -> st.SearchStrategy:
    """Requests over a size limit of the published contract (the deployment's, or a custom package's tighter one)."""
    if is_image_task(runtime):
        return IMAGES_OVER_A_LIMIT
    one, batch = input_fields(runtime)
    properties = contract_schema(runtime.task.request_model)["properties"]
    max_chars, max_batch = properties[one]["maxLength"], properties[batch]["maxItems"]
    return st.one_of(
        st.integers(max_chars + 1, 2 * LIMITS.max_body_bytes).map(lambda n: {one: CANARY + "x" * n}),
        st.integers(max_batch + 1, 20 * max_batch).map(lambda n: {batch: [CANARY] * n}),
        st.integers(max_chars + 1, 4 * max_chars).map(lambda n: {batch: [CANARY, CANARY + "x" * n]}),
    )


SURROGATES = st.characters(categories=["Cs"])
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and Infinity too: json.dumps writes them, JSON refuses them
    | st.text(st.characters() | SURROGATES, max_size=30)
    | st.just(CANARY)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def nested(depth: int, innermost: object) -> object:
    for _ in range(depth):
        innermost = [innermost]
    return innermost


# Requests close to the contract (so the fuzzing reaches each field rule), arbitrary JSON, and
# deep nesting (as a Python object: a direct invocation, or JSON once serialized).
ANY_REQUEST_OBJECT = st.one_of(
    st.builds(
        lambda fields, extra: {**extra, **fields},
        st.fixed_dictionaries(
            {},
            optional={
                "text": TEXT | JSON_VALUES,
                "texts": st.lists(TEXT | JSON_VALUES, max_size=5) | JSON_VALUES,
                "sentence": TEXT | JSON_VALUES,
                "sentences": st.lists(TEXT | JSON_VALUES, max_size=5) | JSON_VALUES,
                "top_k": st.integers(-2, 12) | JSON_VALUES,
                "threshold": st.floats(-1, 2) | JSON_VALUES,
                "min_score": st.floats(-1, 2) | JSON_VALUES,
                "image": st.sampled_from(KNOWN_IMAGES) | JSON_VALUES,
                "images": st.lists(st.sampled_from(KNOWN_IMAGES) | JSON_VALUES, max_size=4) | JSON_VALUES,
            },
        ),
        st.dictionaries(st.text(max_size=50), JSON_VALUES, max_size=2),
    ),
    JSON_VALUES,
    st.builds(
        lambda depth, key: {key: nested(depth, CANARY)}, st.integers(1, 500), st.sampled_from(["text", "texts", "x"])
    ),
)

# --- bodies and events ---------------------------------------------------------------------
JSON_CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "Application/JSON; charset=UTF-8",
        "application/vnd.api+json",
        "application/x-www-form-urlencoded",
    ]
)
ANY_CONTENT_TYPE = (
    JSON_CONTENT_TYPES | st.sampled_from(["image/png", "image/jpeg", "image/gif", "text/plain"]) | st.text(max_size=60)
)
RAW_BODIES = st.one_of(
    st.text(st.characters() | SURROGATES, max_size=200),
    st.binary(max_size=200).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
    st.builds(
        lambda depth, opener: opener * depth, st.integers(1, 20_000), st.sampled_from(["[", '{"text":', '{"a":['])
    ),
    st.builds(lambda depth: '{"texts": ' + "[" * depth + json.dumps(CANARY) + "]" * depth + "}", st.integers(1, 400)),
    st.integers(0, 2 * LIMITS.max_body_bytes).map(lambda n: json.dumps({"text": CANARY + "x" * n})),
)


def b64(body: str) -> str:
    return base64.b64encode(body.encode("utf-8", "surrogatepass")).decode("ascii")


HONEST_ENCODINGS = ["plain", "base64"]


@st.composite
def http_events(draw, bodies, content_types=JSON_CONTENT_TYPES, encodings=HONEST_ENCODINGS):
    """POST /predict as API Gateway REST (v1) or HTTP API (v2) would send each body: plain,
    base64-encoded, or (when asked) flagged isBase64Encoded without being base64."""
    body = draw(bodies)
    encoding = draw(st.sampled_from(encodings))
    is_base64 = encoding != "plain"  # "as is": the body is base64 already
    if encoding == "base64":
        body = b64(body)
    content_type = draw(content_types)
    headers = None if content_type is None else {draw(st.sampled_from(["Content-Type", "content-type"])): content_type}
    if draw(st.booleans()):
        return rest_event(body, headers=headers, is_base64=is_base64)
    stage = draw(st.sampled_from(["$default", "prod"]))
    return http_v2_event(body, stage=stage, headers=headers or {}, is_base64=is_base64)


@st.composite
def delivered(draw, requests):
    """(request, event): a request object as each kind of event carries it: direct invocation,
    REST (v1), the event `sam local generate-event` makes (base64, no content type), HTTP API (v2)."""
    request = draw(requests)
    how = draw(
        st.sampled_from(
            ["direct", "sam", "http", *(["binary"] if isinstance(request, dict) and set(request) == {"image"} else [])]
        )
    )
    if how == "binary":  # the image itself as the body, as API Gateway sends a binary media type
        content_type = draw(st.sampled_from(["image/png", "image/jpeg", "IMAGE/PNG"]))
        return request, draw(http_events(st.just(request["image"]), st.just(content_type), ["as is"]))
    if how == "direct":
        return request, request
    if how == "sam":
        return request, sam_rest_event(json.dumps(request))
    return request, draw(http_events(st.just(json.dumps(request, ensure_ascii=draw(st.booleans())))))


METHODS = st.sampled_from(["POST", "post", "Post", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", ""]) | st.text(
    max_size=10
)
PATHS = st.sampled_from(
    ["/predict", "/predict/", "/PREDICT", "/", "", "//predict", "/prod/predict", "/predict/../predict"]
)
ENVELOPE_FIELDS = [
    "httpMethod",
    "path",
    "rawPath",
    "headers",
    "multiValueHeaders",
    "body",
    "isBase64Encoded",
    "requestContext",
    "version",
]


@st.composite
def odd_events(draw):
    """A valid request's event with odd methods, paths, headers, or fields of any type or missing."""
    event = draw(http_events(st.fixed_dictionaries({"text": TEXT}).map(json.dumps)))
    if event_kind(event) is EventKind.REST_V1:
        event["httpMethod"] = draw(METHODS)
        event["path"] = draw(PATHS | st.text(max_size=20))
        event["multiValueHeaders"] = draw(
            st.none() | st.dictionaries(st.text(max_size=20), st.lists(st.text(max_size=40), max_size=2))
        )
    else:
        event["requestContext"]["http"]["method"] = draw(METHODS)
        event["rawPath"] = draw(PATHS | st.text(max_size=20))
    event["headers"] = draw(
        st.dictionaries(
            st.sampled_from(["Content-Type", "content-type", "Origin", "Content-Length", "Host"])
            | st.text(max_size=20),
            ANY_CONTENT_TYPE,
            max_size=4,
        )
    )
    event.update(draw(st.dictionaries(st.sampled_from(ENVELOPE_FIELDS), JSON_VALUES, max_size=3)))
    for field in draw(st.lists(st.sampled_from(ENVELOPE_FIELDS), max_size=2)):
        event.pop(field, None)
    return event


# Objects a direct invocation might carry: near-misses of every event kind, and anything.
ANY_DIRECT_EVENT = (
    st.dictionaries(
        st.sampled_from(["warmup", "httpMethod", "version", "requestContext", "body", "text", "texts", "Records"])
        | st.text(max_size=10),
        JSON_VALUES,
        max_size=5,
    )
    | JSON_VALUES
).filter(lambda event: event != {"warmup": True})  # answered at once, without a request log line


# --- the oracle: the published contract ------------------------------------------------------
# Rules whose breach is "too big" (413) rather than malformed (400): the deployment's limits.
SIZE_RULES = {"maxLength", "maxItems"}


def strings_in(value: object):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def contract_statuses(request: object, schema: dict) -> set[int]:
    """The statuses the published contract gives a request object: {200} when it is valid, else
    the status of each rule it breaks (the contract does not rank them). An image must also be one:
    the strategies put either a known image or anything else (never an image) where one goes."""
    statuses = {
        413 if error.validator in SIZE_RULES else 400 for error in Draft202012Validator(schema).iter_errors(request)
    }
    # JSON text is Unicode: a lone surrogate is no string at all.
    if any(any("\ud800" <= c <= "\udfff" for c in text) for text in strings_in(request)):
        statuses.add(400)
    if not statuses and "image" in schema["properties"] and isinstance(request, dict):  # valid: an object
        images = [request["image"]] if "image" in request else request["images"]
        if not set(images) <= set(KNOWN_IMAGES):
            statuses.add(400)
    return statuses or {200}


# --- the properties --------------------------------------------------------------------------
@pytest.fixture(
    scope="module",
    params=["text-classification", "feature-extraction", "token-classification", "image-classification", "custom"],
)
def runtime(request, task_runtimes):
    """A demo package of each task: the classifier, the embeddings, the entities (NER) model, the
    digits, the merchant-normalizer (a predictor.py of its own)."""
    return task_runtimes[request.param]


@pytest.fixture
def answer(invoke, handler_module, handler_log, capsys, runtime, monkeypatch):
    """answer(event) -> (status, body): invokes the handler serving `runtime`'s package and checks
    that the response is well formed and that what it logged is one line of counts and labels,
    never the request text."""
    monkeypatch.setattr(handler_module.FUNCTION, "runtime", runtime)

    def call(lambda_event, request=None):
        handler_log.seek(0)
        handler_log.truncate()
        capsys.readouterr()
        response = invoke(lambda_event)
        status, body = _checked_response(lambda_event, response, runtime, request)
        event(f"status {status}")  # the mix shows in --hypothesis-show-statistics
        _check_log(
            handler_log.getvalue(), status, set(runtime.package.labels), "images" if is_image_task(runtime) else "texts"
        )
        metrics = capsys.readouterr().out  # EMF lines
        assert CANARY not in metrics and not any(prefix in metrics for prefix in IMAGE_PREFIXES)
        return status, body

    return call


def _checked_response(event, response, runtime, request) -> tuple[int, dict]:
    if event_kind(event) in (EventKind.REST_V1, EventKind.HTTP_V2):
        assert set(response) == {"statusCode", "headers", "body", "isBase64Encoded"}
        assert response["headers"]["Content-Type"] == "application/json"
        raw, status, body = response["body"], response["statusCode"], json.loads(response["body"])
    else:  # a direct invocation returns the object, with the status it would have had inside an error
        raw, body = json.dumps(response), response
        status = body["error"].pop("status") if "error" in body else 200
    assert "Traceback" not in raw and 'File "' not in raw
    if status == 200:
        _check_answer(body, runtime, request)
    else:
        assert status in ERROR_STATUSES
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "request_id"}
        assert body["error"]["code"] in ERROR_CODES and body["error"]["message"] and body["error"]["request_id"]
    return status, body


def _check_answer(body: dict, runtime, request: dict | None) -> None:
    """The answer model of the task (strict: no field more or less), and what the model cannot
    show: rankings, offsets, lengths."""
    task_contract = contract(runtime.package)
    batch = "predictions" in body or "embeddings" in body or "outputs" in body
    (task_contract.batch if batch else task_contract.single).model_validate(body, strict=True)
    one, many = input_fields(runtime)
    texts = None if request is None else request.get(many, [request.get(one)])
    if runtime.package.task == "custom":  # the demo: one name per line, at most MAX_OUTPUT_CHARS long
        names = body["outputs"] if batch else [body["output"]]
        assert texts is None or len(names) == len(texts)
        assert all(len(name) <= import_predictor(runtime.package.directory).MAX_OUTPUT_CHARS for name in names)
        return
    if runtime.package.task == "feature-extraction":
        vectors = body["embeddings"] if batch else [body["embedding"]]
        assert all(len(vector) == body["dims"] for vector in vectors)
        assert all(math.isclose(math.hypot(*vector), 1, abs_tol=1e-4) for vector in vectors)  # declared normalize
        return
    predictions = body["predictions"] if batch else [body]
    if texts is not None:
        assert len(predictions) == len(texts)
    if runtime.package.task == "token-classification":
        types = {label.split("-", 1)[-1] for label in runtime.package.labels} - {"O"}
        for index, prediction in enumerate(predictions):
            for entity in prediction["entities"]:
                assert entity["label"] in types and 0 <= entity["score"] <= 1
                if texts is not None:
                    assert entity["text"] == texts[index][entity["start"] : entity["end"]] != ""
        return
    labels = set(runtime.package.labels)
    # The contract's min_score: the request's, else the deployment's; only single-label text
    # classification has one.
    single_label_text = runtime.package.task == "text-classification" and not runtime.package.multi_label
    min_score = LIMITS.default_min_score if single_label_text else 0
    if request is not None:
        min_score = request.get("min_score", min_score)
    for prediction in predictions:
        ranked = prediction["top_k"]
        assert ranked[0]["score"] == prediction["score"]
        if request is None:  # min_score unknown here: the top label, or null
            assert prediction["label"] in (ranked[0]["label"], None)
        else:
            assert prediction["label"] == (ranked[0]["label"] if prediction["score"] >= min_score else None)
        assert {entry["label"] for entry in ranked} <= labels and len({entry["label"] for entry in ranked}) == len(
            ranked
        )
        assert all(0 <= entry["score"] <= 1 for entry in ranked)
        assert [entry["score"] for entry in ranked] == sorted((entry["score"] for entry in ranked), reverse=True)
        if request is not None:
            assert len(ranked) == request.get("top_k", min(LIMITS.default_top_k, len(labels)))


def _check_log(logged: str, status: int, labels: set[str], inputs: str) -> None:
    assert CANARY not in logged and not any(prefix in logged for prefix in IMAGE_PREFIXES)
    [line] = [json.loads(text) for text in logged.splitlines()]
    assert line["message"] == "request" and line["status"] == status
    keys = LOG_KEYS | COUNT_KEYS[inputs]
    if status == 200:  # Powertools leaves out keys whose value is None
        assert set(line) == keys - {"error_code"} and set(line["labels"]) <= labels | {None}
    else:
        assert set(line) == keys and line["error_code"] in ERROR_CODES and line["labels"] == []


@MODEL_EXAMPLES
@given(data=st.data())
def test_a_valid_request_in_any_event_gets_an_answer_for_each_text(answer, runtime, data):
    request, event = data.draw(delivered(valid_requests(runtime)))
    status, _ = answer(event, request)
    assert status == 200


@given(data=st.data())
def test_a_request_over_a_size_limit_gets_a_413(answer, runtime, data):
    status, body = answer(data.draw(delivered(over_a_limit(runtime)))[1])
    assert status == 413
    assert body["error"]["code"] in {
        "text_too_long",
        "too_many_texts",
        "body_too_large",
        "image_too_large",
        "too_many_images",
    }


@MODEL_EXAMPLES
@given(delivery=delivered(ANY_REQUEST_OBJECT))
def test_any_request_object_gets_the_status_the_published_contract_gives_it(answer, runtime, delivery):
    request, event = delivery
    # A directly invoked object that is an API Gateway event or the warm-up is not a request object.
    assume(event is not request or event_kind(request) is EventKind.DIRECT)
    status, _ = answer(event)
    assert status in contract_statuses(request, contract_schema(runtime.task.request_model))


@given(event=http_events(RAW_BODIES, ANY_CONTENT_TYPE, [*HONEST_ENCODINGS, "flagged but not base64"]))
def test_any_body_bytes_base64_or_content_type_get_an_answer_or_a_4xx(answer, event):
    answer(event)


@given(event=odd_events() | ANY_DIRECT_EVENT)
def test_any_method_path_header_or_malformed_event_gets_a_json_answer(answer, event):
    answer(event)


# --- bytes into the image decoder ---------------------------------------------------------------
SEEDS = [PNG_7, JPEG_7, *sevens().values()]


@st.composite
def mutated_images(draw) -> bytes:
    """A real image with bytes flipped, cut, inserted or spliced from another: what a broken
    upload, a fuzzer or an attacker sends."""
    raw = bytearray(draw(st.sampled_from(SEEDS) | images()))
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["flip", "truncate", "insert", "splice", "overwrite-header"]))
        at = draw(st.integers(0, max(0, len(raw) - 1)))
        if how == "flip" and raw:
            raw[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "truncate":
            del raw[at:]
        elif how == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif how == "splice":
            other = draw(st.sampled_from(SEEDS))
            raw[at:] = other[draw(st.integers(0, len(other) - 1)) :]
        else:  # the 24 bytes of a PNG's signature and IHDR size, or a JPEG's first segment
            raw[8:24] = draw(st.binary(min_size=16, max_size=16))
    return bytes(raw)


ANY_IMAGE_BYTES = (
    mutated_images()
    | st.binary(max_size=300)
    | st.builds(
        lambda head, tail: head + tail,
        st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a"]),
        st.binary(max_size=200),
    )
)


@pytest.mark.parametrize("runtime", ["image-classification"], indirect=True)
@given(
    raw=ANY_IMAGE_BYTES,
    how=st.sampled_from(["rest", "http", "json", "direct"]),
    content_type=st.sampled_from(["image/png", "image/jpeg"]),
)
def test_any_bytes_sent_as_an_image_get_an_answer_or_a_4xx(answer, raw, how, content_type):
    if how == "direct":
        event = {"image": b64_bytes(raw)}
    elif how == "json":
        event = rest_event(json.dumps({"image": b64_bytes(raw)}), headers={"Content-Type": "application/json"})
    elif how == "rest":
        event = rest_event(b64_bytes(raw), headers={"Content-Type": content_type}, is_base64=True)
    else:
        event = http_v2_event(b64_bytes(raw), headers={"content-type": content_type}, is_base64=True)
    status, body = answer(event)
    assert status in {200, 400, 413}
    if status != 200:
        assert body["error"]["code"] in {
            "invalid_image",
            "image_too_large",
            "empty_body",
            "body_too_large",
            "invalid_request",
        }
