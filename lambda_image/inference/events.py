"""The kinds of event the function receives (docs/api.md, "Lambda events"), and the HTTP rules of the API.

API Gateway REST (v1) and HTTP API (v2) proxy events are read into one HttpRequest, then the
route, method, content type and body are checked in that order, each failure a RequestError. The
body is JSON, or for a package whose task takes them, an image/png or image/jpeg body (API Gateway
sends it base64-encoded when the API lists the type in its binaryMediaTypes).
The envelopes are pydantic models of only the fields the API reads, lenient where API Gateway
is (headers and body may be null), so a hand-made or partial event is still understood.
Powertools' own envelopes were weighed for this and not used: its event data classes
(APIGatewayProxyEvent, ...V2) are unvalidated dict wrappers, so a partial or mistyped event
would fail as a KeyError or TypeError deep in the handler (a 500) instead of a 400 here; its
parser models (APIGatewayProxyEventModel, ...V2Model) require every field API Gateway sends, so
the partial events docs/api.md promises to understand (sam local's, hand-made ones) would be refused.
"""

import base64
import enum
from email.message import Message
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from inference.bulk import is_bulk_event
from inference.schema import RequestError, parse_json

ROUTE = "/predict"
# The scheduled warm-up's event (infra/constructs/warmup.py sends it): answered at once, without inference.
WARMUP_EVENT = {"warmup": True}


def model_route(name: str) -> str:
    """The route of one package of several (docs/api.md)."""
    return f"/models/{name}/predict"


ALLOWED_METHOD = "POST"
# curl -d sends application/x-www-form-urlencoded; its body is read as JSON like the others.
JSON_MEDIA_TYPES = {"application/json", "application/x-www-form-urlencoded"}
UTF8_CHARSETS = {"utf-8", "utf8"}


def cors_headers(allowed_origins: tuple[str, ...], origin: str | None) -> dict[str, str]:
    """The CORS headers of an answer. Behind a Lambda proxy integration API Gateway answers only
    the preflight; a browser reads the answer itself only if it carries Access-Control-Allow-Origin."""
    if not allowed_origins:
        return {}
    # A page may read the answer's X-Request-Id only if the answer says so.
    exposed = {"Access-Control-Expose-Headers": "X-Request-Id"}
    if "*" in allowed_origins:
        return {"Access-Control-Allow-Origin": "*", **exposed}
    # The header depends on the request's Origin, so caches must keep one answer per origin.
    if origin in allowed_origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", **exposed}
    return {"Vary": "Origin"}


class EventKind(enum.Enum):
    WARMUP = "warmup"
    REST_V1 = "rest_v1"
    HTTP_V2 = "http_v2"
    DIRECT = "direct"
    BULK = "bulk"  # a batch of the bulk job's Distributed Map (inference/bulk.py)


def event_kind(event: object) -> EventKind:
    if event == WARMUP_EVENT:
        return EventKind.WARMUP
    if isinstance(event, dict) and "httpMethod" in event:
        return EventKind.REST_V1
    if isinstance(event, dict) and event.get("version") == "2.0" and "requestContext" in event:
        return EventKind.HTTP_V2
    if is_bulk_event(event):
        return EventKind.BULK
    return EventKind.DIRECT


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    headers: dict[str, str] | None = None
    body: str | None = None
    isBase64Encoded: bool | None = False


class _RestV1Event(_Envelope):
    httpMethod: str
    path: str = ""
    resource: str | None = None
    multiValueHeaders: dict[str, list[str]] | None = None


class _HttpV2Method(BaseModel):
    method: str


class _HttpV2Context(BaseModel):
    http: _HttpV2Method
    stage: str = "$default"


class _HttpV2Event(_Envelope):
    rawPath: str = ""
    requestContext: _HttpV2Context


class HttpRequest:
    """The parts of an HTTP request the API looks at, whichever API Gateway sent it."""

    def __init__(self, method: str, path: str, headers: dict[str, str], body: str | None, is_base64: bool) -> None:
        self.method = method.upper()
        self.path = path
        self.headers = {name.lower(): value for name, value in headers.items()}
        self.body = body
        self.is_base64 = is_base64

    @classmethod
    def from_event(cls, event: dict[str, Any], kind: EventKind) -> "HttpRequest":
        try:
            if kind is EventKind.REST_V1:
                return cls._from_rest_v1(_RestV1Event.model_validate(event))
            return cls._from_http_v2(_HttpV2Event.model_validate(event))
        except ValidationError:
            raise RequestError(400, "malformed_event", f"not a valid API Gateway {kind.value} proxy event") from None

    @classmethod
    def _from_rest_v1(cls, event: _RestV1Event) -> "HttpRequest":
        # API Gateway sends both forms; the single-value one wins where both name a header.
        headers = {name: values[-1] for name, values in (event.multiValueHeaders or {}).items() if values}
        headers.update(event.headers or {})
        # `resource` is the API's resource the request matched ("/predict"); `path` also carries a
        # custom domain's base path ("/v1/predict"). A greedy resource ("/{proxy+}") names no route.
        route = event.resource if event.resource and "{" not in event.resource else event.path
        return cls(event.httpMethod, route, headers, event.body, bool(event.isBase64Encoded))

    @classmethod
    def _from_http_v2(cls, event: _HttpV2Event) -> "HttpRequest":
        # rawPath starts with the stage name unless the stage is $default.
        stage = event.requestContext.stage
        path = event.rawPath
        if stage != "$default" and path.startswith(f"/{stage}/"):
            path = path[len(stage) + 1 :]
        return cls(event.requestContext.http.method, path, event.headers or {}, event.body, bool(event.isBase64Encoded))

    def payload(self, max_body_bytes: int, route_name: str, binary_media_types: tuple[str, ...] = ()) -> object:
        """Check route, method, content type and body in that order; return the parsed JSON body, or
        the bytes of a body of one of `binary_media_types` (an image package's image/png, ...).
        A package answers on POST /predict and on its own route, POST /models/<route_name>/predict
        (API Gateway sends a model's function only its own routes)."""
        routes = (ROUTE, model_route(route_name))
        if self.path not in routes:
            raise RequestError(404, "not_found", f"no such resource: use POST {' or POST '.join(routes)}")
        if self.method != ALLOWED_METHOD:
            raise RequestError(405, "method_not_allowed", f"{self.path} accepts only {ALLOWED_METHOD}")
        if self._is_binary(binary_media_types):
            return self._body_bytes(max_body_bytes, "send the image as the body")
        body = self._body_bytes(max_body_bytes, "send a JSON object")
        try:
            return parse_json(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise RequestError(400, "invalid_utf8", "the body is not valid UTF-8") from None

    def _is_binary(self, binary_media_types: tuple[str, ...]) -> bool:
        """Whether the body is one of `binary_media_types`; RequestError 415 if it is neither that nor JSON."""
        # A missing content type is read as JSON: API Gateway's test events carry none.
        value = self.headers.get("content-type", "").strip()
        if not value:
            return False
        header = Message()
        header["content-type"] = value
        media_type = header.get_content_type()
        if media_type in binary_media_types:
            return True
        charset = header.get_content_charset()
        is_json = media_type in JSON_MEDIA_TYPES or (
            media_type.startswith("application/") and media_type.endswith("+json")
        )
        if not is_json or (charset is not None and charset not in UTF8_CHARSETS):
            *others, last = ["application/json (UTF-8)", *binary_media_types]
            accepted = f"{', '.join(others)} or {last}" if others else last
            raise RequestError(415, "unsupported_media_type", f"send the request as Content-Type: {accepted}")
        return False

    def _body_bytes(self, max_body_bytes: int, what_to_send: str) -> bytes:
        if not self.body:
            raise RequestError(400, "empty_body", f"the request body is empty: {what_to_send}")
        try:
            # surrogatepass lets a lone surrogate through to the UTF-8 check of a JSON body.
            raw = (
                base64.b64decode(self.body, validate=True)
                if self.is_base64
                else self.body.encode("utf-8", "surrogatepass")
            )
        except ValueError:  # binascii.Error, or characters outside ASCII (found by fuzzing: was a 500)
            raise RequestError(
                400, "invalid_base64", "the body is marked base64-encoded but is not valid base64"
            ) from None
        if len(raw) > max_body_bytes:
            raise RequestError(413, "body_too_large", f"the body is larger than the limit of {max_body_bytes} bytes")
        return raw
