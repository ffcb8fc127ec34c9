"""CORS on the answers themselves: behind a Lambda proxy integration API Gateway answers only the
preflight (tests/infrastructure), so Access-Control-Allow-Origin on the POST answer comes from
the handler, from CORS_ALLOW_ORIGINS (the stack sets it from cors_allow_origins)."""

import dataclasses
import json

import pytest

from inference.settings import Settings
from tests.lambda_events import http_v2_event, rest_event

APP = "https://app.example.com"
REQUEST = json.dumps({"text": "STARBUCKS STORE 10432 SEATTLE WA"})


@pytest.fixture
def allow_origins(handler_module, monkeypatch):
    """allow_origins(*origins): the handler runs with CORS_ALLOW_ORIGINS set to these origins."""

    def configure(*origins: str) -> None:
        runtime = handler_module.RUNTIME
        settings = runtime.settings.model_copy(update={"cors_allow_origins": origins})
        monkeypatch.setattr(handler_module.FUNCTION, "runtime", dataclasses.replace(runtime, settings=settings))

    return configure


def test_cors_allow_origins_is_a_comma_separated_list():
    assert Settings.from_env({"CORS_ALLOW_ORIGINS": f" {APP}, https://admin.example.com ,"}).cors_allow_origins == (
        APP,
        "https://admin.example.com",
    )
    assert Settings.from_env({}).cors_allow_origins == ()


def test_without_cors_configured_answers_carry_no_cors_headers(invoke):
    headers = invoke(rest_event(REQUEST, headers={"Origin": APP}))["headers"]
    assert not any(name.startswith("Access-Control") or name == "Vary" for name in headers)


def test_an_allowed_origin_is_echoed_on_the_answer(invoke, allow_origins):
    allow_origins(APP, "https://admin.example.com")
    response = invoke(rest_event(REQUEST, headers={"Origin": APP}))
    assert response["statusCode"] == 200
    assert response["headers"]["Access-Control-Allow-Origin"] == APP
    assert response["headers"]["Vary"] == "Origin"
    assert response["headers"]["Access-Control-Expose-Headers"] == "X-Request-Id"


def test_an_http_api_event_with_a_lowercase_origin_header_is_echoed_too(invoke, allow_origins):
    allow_origins(APP)
    response = invoke(http_v2_event(REQUEST, headers={"content-type": "application/json", "origin": APP}))
    assert response["headers"]["Access-Control-Allow-Origin"] == APP


def test_another_origin_gets_no_allow_origin_header(invoke, allow_origins):
    allow_origins(APP)
    response = invoke(rest_event(REQUEST, headers={"Origin": "https://evil.example.net"}))
    assert response["statusCode"] == 200
    assert "Access-Control-Allow-Origin" not in response["headers"]
    assert response["headers"]["Vary"] == "Origin"


def test_errors_carry_the_cors_header_so_a_browser_can_read_them(invoke, allow_origins):
    allow_origins(APP)
    response = invoke(rest_event(json.dumps({"text": "x" * 5000}), headers={"Origin": APP}))
    assert response["statusCode"] == 413
    assert response["headers"]["Access-Control-Allow-Origin"] == APP


def test_a_wildcard_allows_every_origin(invoke, allow_origins):
    allow_origins("*")
    for headers in ({"Origin": "https://anywhere.example.org"}, None):
        response = invoke(rest_event(REQUEST, headers=headers))
        assert response["headers"]["Access-Control-Allow-Origin"] == "*"
        assert "Vary" not in response["headers"]


def test_a_method_not_allowed_keeps_its_allow_header_next_to_cors(invoke, allow_origins):
    allow_origins(APP)
    headers = invoke(rest_event(None, method="GET", headers={"Origin": APP}))["headers"]
    assert (headers["Allow"], headers["Access-Control-Allow-Origin"]) == ("POST", APP)


def test_a_direct_invocation_has_no_headers_to_carry(invoke, allow_origins):
    allow_origins("*")
    assert set(invoke({"text": "STARBUCKS"})) == {"label", "score", "top_k", "model"}
