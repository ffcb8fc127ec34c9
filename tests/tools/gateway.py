"""A stand-in for API Gateway's front door, in front of the local server: it lets through only
requests with the API key and a valid SigV4 signature (recomputed from the request as received,
as AWS does), answers the others 403, and records what it received."""

from __future__ import annotations

import hmac
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<access_key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, SignedHeaders=(?P<signed_headers>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


def signature_is_valid(
    credentials: Credentials, region: str, method: str, url: str, headers: dict[str, str], body: bytes
) -> bool:
    """True when `headers` (lower-case names) carry a valid execute-api signature of this request."""
    authorization = AUTHORIZATION.fullmatch(headers.get("authorization", ""))
    if authorization is None or authorization["access_key"] != credentials.access_key:
        return False
    signed = authorization["signed_headers"].split(";")
    if not {"host", "x-amz-date"} <= set(signed) or any(name not in headers for name in signed):
        return False
    request = AWSRequest(method=method, url=url, data=body, headers={name: headers[name] for name in signed})
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(credentials, "execute-api", region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return hmac.compare_digest(expected, authorization["signature"])


class Gateway(ThreadingHTTPServer):
    """Forwards to the local server what passes API Gateway's checks, records every request,
    and answers 403 in the API's error shape, as the deployed API does, to what does not."""

    def __init__(self, upstream: str, region: str, *, api_key: str | None = None, credentials=None) -> None:
        super().__init__(("127.0.0.1", 0), _GatewayRequest)
        self.upstream = upstream
        self.region = region
        self.api_key = api_key
        self.credentials = credentials
        self.received: list[tuple[str, dict[str, str]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/predict"

    def allows(self, method: str, headers: dict[str, str], body: bytes) -> bool:
        if self.api_key and headers.get("x-api-key") != self.api_key:
            return False
        if self.credentials:
            return signature_is_valid(self.credentials, self.region, method, self.url, headers, body)
        return True


class _GatewayRequest(BaseHTTPRequestHandler):
    server: Gateway

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.received.append((self.command, headers))
        if self.server.allows(self.command, headers, body):
            forwarded = {"Content-Type": headers["content-type"]} if "content-type" in headers else {}
            upstream = requests.request(self.command, self.server.upstream, data=body, headers=forwarded, timeout=60)
            status, content = upstream.status_code, upstream.content
        else:
            status, content = 403, b'{"error": {"code": "ACCESS_DENIED", "message": "Forbidden"}}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = _handle

    def log_message(self, *args) -> None:  # keep the test output clean
        pass
