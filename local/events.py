"""The REST API (v1) Lambda proxy event API Gateway builds for a request: one builder, for the
local server (from a real HTTP request) and for the tests and benchmarks (from a few fields)."""

from __future__ import annotations

import time
import uuid
from typing import Any


def rest_api_event(
    body: str | None,
    *,
    method: str = "POST",
    path: str = "/predict",
    headers: dict[str, str] | None = None,
    is_base64: bool = False,
    query: list[tuple[str, str]] | None = None,
    request_id: str | None = None,
    source_ip: str = "127.0.0.1",
    protocol: str = "HTTP/1.1",
) -> dict[str, Any]:
    """The event, with API Gateway's nulls where a request has nothing (no headers, no query)."""
    now = time.time()
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()} if headers else None,
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": _multi_value(query) if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": (headers or {}).get("Host", "localhost"),
            "httpMethod": method,
            "identity": {"sourceIp": source_ip, "userAgent": (headers or {}).get("User-Agent")},
            "path": path,
            "protocol": protocol,
            "requestId": request_id or str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourcePath": path,
            "stage": "local",
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _multi_value(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    return values
