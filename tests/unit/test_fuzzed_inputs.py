"""Property tests: whatever arrives, the handler answers with JSON and never a 5xx."""

import base64
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.lambda_events import rest_event

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
# Requests close to the contract, so the fuzzing reaches the field rules and the model too.
NEAR_REQUESTS = st.fixed_dictionaries(
    {},
    optional={
        "text": st.text(max_size=40) | JSON_VALUES,
        "texts": st.lists(st.text(max_size=20), max_size=5) | JSON_VALUES,
        "top_k": st.integers(-2, 12) | JSON_VALUES,
    },
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def answer_status(response: dict) -> int:
    if "statusCode" in response:
        json.loads(response["body"])
        return response["statusCode"]
    return response["error"]["status"] if "error" in response else 200


@FUZZ
@given(payload=NEAR_REQUESTS | JSON_VALUES)
def test_any_json_request_object_is_answered_without_a_server_error(invoke, payload):
    assert answer_status(invoke(payload)) in (200, 400, 413)
    assert answer_status(invoke(rest_event(json.dumps(payload)))) in (200, 400, 413)


@FUZZ
@given(raw=st.binary(max_size=200), as_base64=st.booleans())
def test_any_body_bytes_are_answered_without_a_server_error(invoke, raw, as_base64):
    body = base64.b64encode(raw).decode() if as_base64 else raw.decode("utf-8", "surrogateescape")
    assert answer_status(invoke(rest_event(body, is_base64=as_base64))) in (200, 400, 413)


@FUZZ
@given(content_type=st.text(max_size=60), method=st.sampled_from(["POST", "GET", "PUT", "post"]), path=st.text(max_size=12))
def test_any_content_type_method_and_path_are_answered_without_a_server_error(invoke, content_type, method, path):
    event = rest_event('{"text": "STARBUCKS"}', method=method, path=path, headers={"Content-Type": content_type})
    assert answer_status(invoke(event)) in (200, 400, 404, 405, 415)
