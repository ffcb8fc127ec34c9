"""docs/openapi.json: generated from the served package's contract, current, a valid OpenAPI 3.1
document, and what the handler really answers fits it."""

import json

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from tests.lambda_events import http_answer, rest_event
from tools.openapi import DOCUMENT, current

SPEC = json.loads(DOCUMENT.read_text(encoding="utf-8"))
OPERATION = SPEC["paths"]["/predict"]["post"]


def schema_of(reference: dict) -> Draft202012Validator:
    """A validator of `reference` (a schema with $refs into the document's components)."""
    return Draft202012Validator({**reference, "components": SPEC["components"]})


def test_the_document_is_current_run_tools_openapi_when_the_contract_changes():
    assert DOCUMENT.read_text(encoding="utf-8") == current(), "stale: run `python -m tools.openapi`"


def test_the_document_is_valid_openapi_3_1():
    validate(SPEC)


def test_the_example_request_is_valid_by_the_document():
    body = OPERATION["requestBody"]["content"]["application/json"]
    schema_of(body["schema"]).validate(body["example"])


@pytest.mark.parametrize(
    "request_object",
    [
        {"text": "STARBUCKS STORE 10432 SEATTLE WA"},
        {"texts": ["RYANAIR DUBLIN FR8J2K", "CVS/PHARMACY #04512"], "top_k": 2},
    ],
)
def test_what_the_handler_answers_fits_the_documented_answer(invoke, request_object):
    status, body = http_answer(invoke(rest_event(json.dumps(request_object))))
    assert status == 200
    schema_of(OPERATION["responses"]["200"]["content"]["application/json"]["schema"]).validate(body)


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (rest_event("{"), 400),
        (rest_event(json.dumps({"text": "a"}), path="/nope"), 404),
        (rest_event(None, method="GET"), 405),
        (rest_event(json.dumps({"text": "x" * 5000})), 413),
        (rest_event("{}", headers={"Content-Type": "text/plain"}), 415),
    ],
)
def test_every_error_the_handler_answers_is_documented_with_its_shape(invoke, event, status):
    answered, body = http_answer(invoke(event))
    assert answered == status
    schema_of(OPERATION["responses"][str(status)]["content"]["application/json"]["schema"]).validate(body)


def test_an_image_package_gets_a_valid_document_that_takes_the_image_as_the_body_too(task_runtimes):
    from deployment.openapi import document

    runtime = task_runtimes["image-classification"]
    spec = json.loads(json.dumps(document(runtime.package, runtime.settings.limits)))
    validate(spec)
    content = spec["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", "image/png", "image/jpeg"}
    example = content["application/json"]["example"]
    Draft202012Validator({**content["application/json"]["schema"], "components": spec["components"]}).validate(example)
    answer = runtime.answer(example).body
    documented = spec["paths"]["/predict"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    Draft202012Validator({**documented, "components": spec["components"]}).validate(answer)
    assert answer["label"] == "7"
