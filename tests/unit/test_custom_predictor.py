"""A custom package's predictor.py (inference/tasks/custom.py) behind the runtime: small hand-written
predictors in tmp_path, one per rule, served through the Lambda handler. The demo package's own
tests, with its real model, are in test_merchant_normalizer.py."""

import json
import re
import runpy
import textwrap
from pathlib import Path

import pytest

from deployment.catalog import SERVED_PACKAGE, served_packages
from deployment.openapi import document
from inference.package import ModelPackage, PackageError
from inference.runtime import Runtime
from inference.schema import Limits, contract_schema
from inference.settings import Settings
from inference.tasks import contract, read_package, request_model
from tests.lambda_events import http_answer, rest_event

# A predictor without torch: it shouts one word, or each of a batch. `word` declares a tighter
# limit than the deployment's; `note` and `words` declare none.
SHOUT = """
from typing import Self
from pydantic import BaseModel, Field, model_validator

class Request(BaseModel):
    word: str | None = Field(None, max_length=5)
    words: list[str] | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.word is None) == (self.words is None):
            raise ValueError('give exactly one of "word" or "words"')
        return self

    @property
    def batch(self):
        return self.words if self.words is not None else [self.word]

class Response(BaseModel):
    shout: str | None = None
    shouts: list[str] | None = None

EXAMPLE = {example}

class Shouter:
    def predict(self, request):
        {predict}

def load(model_dir):
    {load}
"""
SHOUTS = "return {'shouts': [w.upper() for w in request.words]} if request.words else {'shout': request.word.upper()}"


def shout_package(
    tmp_path, name="shout", *, predict=SHOUTS, load="return Shouter()", example='{"word": "hi"}', source=None
) -> ModelPackage:
    directory = tmp_path / name
    directory.mkdir()
    (directory / "model_card.json").write_text(json.dumps({"name": name, "version": "0.1.0", "task": "custom"}))
    fill = {"{predict}": predict, "{load}": load, "{example}": example}
    code = textwrap.dedent(SHOUT)
    for slot, value in fill.items():
        code = code.replace(slot, value)
    code = source if source is not None else code
    (directory / "predictor.py").write_text(code)
    return read_package(directory)


def runtime_of(package: ModelPackage, **settings) -> Runtime:
    return Runtime.load(Settings(MODEL_DIR=str(package.directory), **settings))


@pytest.fixture
def serve(handler_module, monkeypatch):
    """serve(package) -> invoke(request object) -> (status, body), through the handler (REST v1)."""

    def serving(package):
        monkeypatch.setattr(handler_module.FUNCTION, "runtime", runtime_of(package))
        return lambda request: http_answer(handler_module.lambda_handler(rest_event(json.dumps(request)), _context()))

    return serving


def _context():
    from local.lambda_context import LocalLambdaContext

    return LocalLambdaContext()


def test_a_predictor_answers_through_the_handler_with_the_model_added(tmp_path, serve):
    answer = serve(shout_package(tmp_path))
    assert answer({"word": "hey"}) == (200, {"shout": "HEY", "model": {"name": "shout", "version": "0.1.0"}})
    assert answer({"words": ["a", "b"]})[1]["shouts"] == ["A", "B"]


@pytest.mark.parametrize(
    ("request_object", "status", "code", "message"),
    [
        ({"word": "toolong"}, 413, "text_too_long", "word: longer than the limit of 5 characters"),
        ({"note": "x" * 1001, "word": "a"}, 413, "text_too_long", "note: longer than the limit of 1000 characters"),
        ({"words": ["a"] * 65}, 413, "too_many_texts", "words: more than the limit of 64 words (65 given)"),
        ({"words": ["a", "x" * 1001]}, 413, "text_too_long", "words[1]: longer than the limit of 1000 characters"),
        (
            {"word": "a", "debug": True},
            400,
            "invalid_request",
            'debug: unknown field (allowed: "word", "words", "note")',
        ),
        ({"word": None, "words": ["a"]}, 400, "invalid_request", "word: must not be null: leave the field out"),
        ({"word": 5}, 400, "invalid_request", "word: Input should be a valid string"),
        ({"word": "a", "words": ["b"]}, 400, "invalid_request", 'give exactly one of "word" or "words"'),
        (["a"], 400, "invalid_request", "the request must be a JSON object"),
    ],
)
def test_the_runtime_rules_and_the_predictors_own_limits_refuse_bad_input_before_predict(
    tmp_path, serve, request_object, status, code, message
):
    # Only the warm-up's example reaches predict.
    answer = serve(
        shout_package(
            tmp_path, predict="assert request.word == 'hi', 'invalid input reached predict'\n        return {}"
        )
    )
    answered, body = answer(request_object)
    assert (answered, body["error"]["code"], body["error"]["message"]) == (status, code, message)


def test_the_published_schema_carries_the_runtime_rules_and_the_tighter_of_the_two_limits(tmp_path):
    schema = contract_schema(request_model(shout_package(tmp_path), Limits(max_text_chars=1000, max_batch=64)))
    properties = schema["properties"]
    assert schema["additionalProperties"] is False
    assert properties["word"]["maxLength"] == 5  # the predictor's, tighter
    assert properties["note"]["maxLength"] == 1000
    assert properties["words"]["maxItems"] == 64 and properties["words"]["items"]["maxLength"] == 1000
    assert all("null" not in json.dumps(value) for value in properties.values())


@pytest.mark.parametrize(
    ("predict", "logged"),
    [
        ("raise RuntimeError('secret-4111 in the weights')", "secret-4111 in the weights"),
        ("return ['not', 'an', 'object']", "predict returned list, not a dict"),
        ("return {'score': float('nan')}", "predict's answer is not JSON"),
        ("return {'tensor': object()}", "predict's answer is not JSON"),
    ],
    ids=["raises", "returns-a-list", "returns-nan", "returns-an-object"],
)
def test_a_predictor_bug_is_a_500_with_the_request_id_and_only_the_log_knows_why(
    tmp_path, serve, handler_log, predict, logged
):
    # The example answers; "boom" is where the bug is.
    package = shout_package(tmp_path, predict=f"if request.word != 'boom': return {{'shout': 'HI'}}\n        {predict}")
    status, body = serve(package)({"word": "boom"})
    assert status == 500
    assert body == {
        "error": {
            "code": "internal_error",
            "message": body["error"]["message"],
            "request_id": body["error"]["request_id"],
        }
    }
    assert body["error"]["request_id"] and "secret" not in json.dumps(body) and "predict" not in json.dumps(body)
    log = handler_log.getvalue()
    assert "Traceback" in log and logged in log


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"source": "import not_a_module_anywhere\n"},
            "predictor.py: cannot be imported (ModuleNotFoundError: No module named 'not_a_module_anywhere')",
        ),
        ({"source": "def broken(:\n"}, "predictor.py: cannot be imported (SyntaxError"),
        ({"source": "EXAMPLE = {}\ndef load(model_dir): pass\n"}, "predictor.py: defines no Request"),
        (
            {"source": "from pydantic import BaseModel\nclass Request(BaseModel): pass\ndef load(d): pass\n"},
            "predictor.py: defines no EXAMPLE",
        ),
        (
            {"source": "from pydantic import BaseModel\nclass Request(BaseModel): pass\nEXAMPLE = {}\n"},
            "predictor.py: defines no load(model_dir)",
        ),
        (
            {"load": "raise FileNotFoundError('weights.bin is not\\nthere')"},
            "predictor.py: load() failed (FileNotFoundError: weights.bin is not there)",
        ),
        ({"load": "return 42"}, "predictor.py: load() returned int, which has no predict(request)"),
        (
            {"predict": "raise RuntimeError('cannot even answer the example')"},
            "answering the example request failed (RuntimeError: cannot even answer the example)",
        ),
        ({"example": '{"wurd": "hi"}'}, "predictor.py: EXAMPLE is not a valid request (ValidationError"),
    ],
    ids=[
        "import-error",
        "syntax-error",
        "no-request",
        "no-example",
        "no-load",
        "load-raises",
        "no-predict",
        "example-fails",
        "bad-example",
    ],
)
def test_a_predictor_that_cannot_load_stops_init_with_one_line_naming_the_package(tmp_path, change, reason):
    package = shout_package(tmp_path, "broken", **change)
    with pytest.raises(PackageError) as refused:
        runtime_of(package)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(str(package.directory)) and reason in message


def test_a_custom_package_without_predictor_py_is_refused_when_read(tmp_path):
    package = shout_package(tmp_path)
    (package.directory / "predictor.py").unlink()
    with pytest.raises(
        PackageError, match=r"predictor.py is missing: a custom package is served by its own predictor.py"
    ):
        read_package(package.directory)


def test_a_custom_package_is_refused_on_the_onnx_backend_and_the_int8_variant_with_one_line(tmp_path):
    package = shout_package(tmp_path)
    refusal = r"torch backend in fp32 only: set backend=torch and model_variant=fp32 \(MODEL_BACKEND, MODEL_VARIANT\)"
    with pytest.raises(PackageError, match=refusal):
        runtime_of(package, MODEL_BACKEND="onnx")
    with pytest.raises(PackageError, match=refusal):
        runtime_of(package, MODEL_VARIANT="int8")
    with pytest.raises(PackageError, match=refusal):
        served_packages([SERVED_PACKAGE], "onnx", "fp32", packages_dir=_as_served(tmp_path, package))
    (served,) = served_packages([SERVED_PACKAGE], "torch", "fp32", packages_dir=_as_served(tmp_path, package))
    assert served.task == "custom"


def _as_served(tmp_path, package: ModelPackage):
    """A model_artifacts/ whose served package (deployment/catalog.py) is `package`."""
    served = tmp_path / "artifacts"
    served.mkdir(exist_ok=True)
    if not (served / SERVED_PACKAGE).exists():
        (served / SERVED_PACKAGE).symlink_to(package.directory)
    return served


def test_two_custom_packages_load_side_by_side_each_with_its_own_predictor(tmp_path):
    shout = runtime_of(shout_package(tmp_path, "shout"))
    whisper = runtime_of(shout_package(tmp_path, "whisper", predict="return {'shout': request.word.lower()}"))
    assert shout.answer({"word": "Hi"}).body["shout"] == "HI"
    assert whisper.answer({"word": "Hi"}).body["shout"] == "hi"


def test_the_log_line_counts_the_batch_and_never_holds_the_words(tmp_path, serve, handler_log):
    serve(shout_package(tmp_path))({"words": ["secret", "words"]})
    (line,) = [json.loads(text) for text in handler_log.getvalue().splitlines()]
    assert (line["status"], line["texts"], line["chars"]) == (200, 2, 11)
    assert "secret" not in handler_log.getvalue()


def test_the_openapi_document_of_a_custom_package_publishes_its_request_response_and_example(tmp_path):
    package = shout_package(tmp_path)
    openapi = document(package, Limits(max_text_chars=1000, max_batch=64))
    post = openapi["paths"]["/predict"]["post"]
    body = post["requestBody"]["content"]["application/json"]
    assert body["example"] == contract(package).example == {"word": "hi"}
    assert body["schema"] == {"$ref": "#/components/schemas/Request"}
    assert post["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Response"
    }
    response = openapi["components"]["schemas"]["Response"]
    assert set(response["properties"]) == {"shout", "shouts", "model"} and response["required"] == ["model"]


DOCS = Path(__file__).resolve().parents[2] / "docs" / "models.md"


def test_the_documented_example_package_serves_as_documented(tmp_path, serve):
    text = DOCS.read_text(encoding="utf-8")
    card = re.search(r"```json\n(\{.*\"task\": \"custom\"\})\n```", text)[1]
    code = re.search(r"```python\n# model_artifacts/scorer/predictor.py\n(.*?)```", text, re.S)[1]
    directory = tmp_path / "scorer"
    directory.mkdir()
    (directory / "model_card.json").write_text(card)
    (directory / "predictor.py").write_text(code)
    with pytest.raises(PackageError, match=r"scorer/predictor.py: load\(\) failed \(FileNotFoundError: .*model.pt'\)$"):
        runtime_of(read_package(directory))  # as documented, before the weights are saved
    import torch

    torch.save(runpy.run_path(str(directory / "predictor.py"))["Scorer"]().state_dict(), directory / "model.pt")
    status, body = serve(read_package(directory))({"text": "hello world"})
    assert status == 200 and set(body) == {"score", "model"} and isinstance(body["score"], float)
    assert body["model"] == {"name": "scorer", "version": "1.0.0"}
