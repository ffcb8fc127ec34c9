"""The API Gateway request model of a custom package derives from its predictor.py's Request, as the
stack derives it (infra/stack.py: contract_schema(request_model(package, limits))), and agrees with
the handler: the gateway refuses with 400 only what the handler refuses with 400, and lets the size
limits (the deployment's and the predictor's tighter ones) through to the handler's 413."""

from __future__ import annotations

import pytest
from jsonschema import Draft4Validator

from deployment.catalog import PACKAGES_DIR
from inference.schema import Limits
from inference.tasks import read_package, request_model
from tests.infrastructure.synth import CDK_CONTEXT
from tests.infrastructure.test_request_model import handler_status
from tests.infrastructure.test_stack import methods

PACKAGE = read_package(PACKAGES_DIR / "merchant-normalizer")
LIMITS = Limits(max_text_chars=CDK_CONTEXT["max_text_chars"], max_batch=CDK_CONTEXT["max_batch"])
HANDLER_MODEL = request_model(PACKAGE, LIMITS)
ROUTE = ("/models/merchant-normalizer/predict", "POST")

CASES = [
    # (id, request, gateway accepts, handler status)
    ("one line", {"sentence": "SQ *BLUE BOTTLE COFFEE OAKLAND CA"}, True, 200),
    ("a batch at its limit", {"sentences": ["a"] * 64}, True, 200),
    ("a line over the predictor's limit", {"sentence": "x" * 201}, True, 413),
    ("a batch over its limit", {"sentences": ["a"] * 65}, True, 413),
    ("both", {"sentence": "a", "sentences": ["b"]}, False, 400),
    ("neither", {}, False, 400),
    ("the text tasks' field", {"text": "a"}, False, 400),
    ("a blank line", {"sentence": " \t "}, False, 400),
    ("an empty batch", {"sentences": []}, False, 400),
    ("a number", {"sentence": 5}, False, 400),
    ("a list one level deeper", {"sentences": [["a"]]}, False, 400),
    ("not an object", ["a"], False, 400),
]


@pytest.fixture(scope="module")
def gateway_model(synthesize) -> Draft4Validator:
    """The request model of POST /models/merchant-normalizer/predict in the synthesized app."""
    template = synthesize("multi_model").app_template
    (models,) = (m["RequestModels"] for (path, verb), m in methods(template).items() if (path, verb) == ROUTE)
    schema = template.to_json()["Resources"][models["application/json"]["Ref"]]["Properties"]["Schema"]
    Draft4Validator.check_schema(schema)
    assert set(schema["properties"]) == {"sentence", "sentences"} and schema["additionalProperties"] is False
    return Draft4Validator(schema)


@pytest.mark.parametrize(("request_object", "accepted", "status"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_gateway_refuses_only_what_the_handler_refuses_with_400(gateway_model, request_object, accepted, status):
    assert gateway_model.is_valid(request_object) is accepted
    assert handler_status(request_object, HANDLER_MODEL) == status
