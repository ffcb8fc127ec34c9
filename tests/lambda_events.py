"""Lambda events as API Gateway sends them, for the handler tests."""

import base64
import json
from pathlib import Path

from local.events import rest_api_event

EVENTS = Path(__file__).parent / "unit" / "events"
# Card-statement lines of different categories, for tests that need the model to tell texts apart.
TRANSACTIONS = [
    "STARBUCKS STORE 10432 SEATTLE WA",
    "RYANAIR DUBLIN FR8J2K",
    "CVS/PHARMACY #04512",
    "UBER *TRIP HELP.UBER.COM",
    "NETFLIX.COM 866-579-7172 CA",
    "SHELL OIL 57442660 HOUSTON TX",
]


def sam_rest_event(body: str) -> dict:
    """`sam local generate-event apigateway aws-proxy --path predict --body <body>`: the body comes
    base64-encoded and the event has no Content-Type header (see unit/events/README.md)."""
    event = json.loads((EVENTS / "sam_aws_proxy_predict.json").read_text())
    event["body"] = base64.b64encode(body.encode("utf-8")).decode("ascii")
    return event


def rest_event(body, *, method="POST", path="/predict", headers=None, is_base64=False) -> dict:
    """A REST API (v1) proxy event, with API Gateway's nulls where a test names nothing."""
    return rest_api_event(body, method=method, path=path, headers=headers, is_base64=is_base64)


def http_v2_event(body, *, method="POST", path="/predict", stage="$default", headers=None, is_base64=False) -> dict:
    """An HTTP API (payload format 2.0) event; rawPath starts with the stage unless it is $default."""
    event = json.loads((EVENTS / "http_api_v2.json").read_text())
    event["rawPath"] = path if stage == "$default" else f"/{stage}{path}"
    event["requestContext"]["http"].update(method=method, path=event["rawPath"])
    event["requestContext"]["stage"] = stage
    event["headers"] = {"content-type": "application/json"} if headers is None else headers
    event["body"] = body
    event["isBase64Encoded"] = is_base64
    return event


def http_answer(response: dict) -> tuple[int, dict]:
    """Status and decoded JSON body of an API Gateway proxy response."""
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])
