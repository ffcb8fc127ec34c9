"""The API Gateway request model (JSON Schema draft 4, checked here with jsonschema) and the
handler's validation agree: the gateway refuses with 400 only requests the handler refuses with 400
(shape, types, nesting, unknown fields), and lets the size-limit cases through so the handler
answers them with the contract's 413 (see infra/constructs/rest_api.py). The model is derived
from the served package's contract at synth."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template
from jsonschema import Draft4Validator
from pydantic import BaseModel

from deployment.catalog import PACKAGES_DIR, SERVED_PACKAGE
from inference.schema import Limits, RequestError, validate
from inference.tasks import read_package, request_model
from tests.infrastructure.synth import CDK_CONTEXT

PACKAGE = read_package(PACKAGES_DIR / SERVED_PACKAGE)
N_LABELS = len(PACKAGE.labels)
HANDLER_MODEL = request_model(
    PACKAGE, Limits(max_text_chars=CDK_CONTEXT["max_text_chars"], max_batch=CDK_CONTEXT["max_batch"])
)
TEXT_LIMIT, BATCH_LIMIT = CDK_CONTEXT["max_text_chars"], CDK_CONTEXT["max_batch"]

CASES = [
    # (id, request, gateway accepts, handler status)
    ("text at the length limit", {"text": "x" * TEXT_LIMIT}, True, 200),
    ("batch at the limit, every label", {"texts": ["a"] * BATCH_LIMIT, "top_k": N_LABELS}, True, 200),
    ("text over the length limit", {"text": "x" * (TEXT_LIMIT + 1)}, True, 413),
    ("batch over the limit", {"texts": ["a"] * (BATCH_LIMIT + 1)}, True, 413),
    ("top_k above the label count", {"text": "a", "top_k": N_LABELS + 1}, False, 400),
    ("a list one level deeper", {"texts": [["a"]]}, False, 400),
    ("an object for the text", {"text": {"text": "a"}}, False, 400),
    ("deep nesting", {"text": json.loads("[" * 150 + "]" * 150)}, False, 400),
    ("unknown field", {"text": "a", "debug": True}, False, 400),
    ("both text and texts", {"text": "a", "texts": ["b"]}, False, 400),
    ("neither text nor texts", {"top_k": 1}, False, 400),
    ("blank text", {"text": " \t "}, False, 400),
    ("empty batch", {"texts": []}, False, 400),
    ("top_k zero", {"text": "a", "top_k": 0}, False, 400),
    ("top_k as a string", {"text": "a", "top_k": "3"}, False, 400),
    ("not an object", ["a"], False, 400),
]


@pytest.fixture(scope="module")
def gateway_model(template: Template) -> Draft4Validator:
    (model,) = template.find_resources("AWS::ApiGateway::Model").values()
    schema = model["Properties"]["Schema"]
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def handler_status(request: object, model: type[BaseModel] = HANDLER_MODEL) -> int:
    """The status the handler's validation gives `request` (200: valid)."""
    try:
        validate(model, request)
    except RequestError as error:
        return error.status
    return 200


@pytest.mark.parametrize(("request_object", "accepted", "status"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_gateway_refuses_only_what_the_handler_refuses_with_400(gateway_model, request_object, accepted, status):
    assert gateway_model.is_valid(request_object) is accepted
    assert handler_status(request_object) == status
