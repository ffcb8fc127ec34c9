"""Lambda entry point: every kind of event in, the response that kind expects out.

One handler serves API Gateway REST (v1) and HTTP API (v2) proxy events, direct invocations and
the scheduled warm-up (docs/api.md). Powertools' event_handler resolvers were weighed and not
used: each serves one API Gateway format and neither serves direct invocations, so supporting all
kinds would take two resolvers plus custom dispatch and error rendering. What a request means is
the task's business (inference/tasks/); this module only adapts events to it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from inference import bulk, snapstart
from inference.events import ALLOWED_METHOD, EventKind, HttpRequest, cors_headers, event_kind
from inference.runtime import Runtime
from inference.schema import RequestError

JSON_HEADERS = {"Content-Type": "application/json"}


# The model loads here, during the function's init phase, not per request. Logger and Metrics
# sit at module level too, as Powertools expects, so their decorators can wrap the handler.
RUNTIME = Runtime.load()
logger = Logger(service=RUNTIME.settings.service_name)
metrics = Metrics(namespace=RUNTIME.settings.metrics_namespace)
# SnapStart's hooks (run only under SnapStart): a prediction before the snapshot, new seeds after a restore.
snapstart.register(lambda: RUNTIME.answer({"text": "SNAPSHOT WARM-UP"}), logger, metrics)


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(log_event=False)  # never log the event: it carries the texts
def lambda_handler(event: object, context: Any) -> dict[str, Any] | list[dict[str, Any]]:
    kind = event_kind(event)
    if kind is EventKind.WARMUP:
        metrics.add_metric(name="WarmUps", unit=MetricUnit.Count, value=1)
        return {"warm": True}
    if kind is EventKind.BULK:
        return _answer_bulk_batch(event)
    started = time.perf_counter()
    status, body, texts, origin = _answer(kind, event)
    _record(kind, status, body, texts, latency_ms=round((time.perf_counter() - started) * 1000, 1))
    return _respond(kind, status, body, context.aws_request_id, origin)


def _answer(kind: EventKind, event: object) -> tuple[int, dict, list[str], str | None]:
    """Status, response object, the texts it answered (empty when refused) and the request's Origin."""
    origin = None
    try:
        if kind is EventKind.DIRECT:
            payload = event
        else:
            http_request = HttpRequest.from_event(event, kind)
            origin = http_request.headers.get("origin")
            payload = http_request.json_payload(RUNTIME.settings.max_body_bytes)
        body, texts = RUNTIME.answer(payload)
        return 200, body, texts, origin
    except RequestError as error:
        return error.status, _error_body(error.code, error.message), [], origin
    except Exception:  # a bug: the traceback goes to the log, never to the caller
        logger.exception("unhandled error")
        return 500, _error_body("internal_error", "internal error: quote the request id when reporting it"), [], origin


def _answer_bulk_batch(event: dict) -> list[dict]:
    """One result per item of a bulk job batch (inference/bulk.py), and one log line: counts, never texts."""
    started = time.perf_counter()
    results = bulk.answer_batch(event, lambda request: _answer(EventKind.DIRECT, request)[:2])
    errors = sum("error" in result for result in results)
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    logger.info(
        "bulk batch",
        extra={"event_kind": EventKind.BULK.value, "items": len(results), "item_errors": errors, "latency_ms": latency_ms},
    )
    metrics.add_metric(name="BulkItems", unit=MetricUnit.Count, value=len(results))
    metrics.add_metric(name="BulkItemErrors", unit=MetricUnit.Count, value=errors)
    return results


def _record(kind: EventKind, status: int, body: dict, texts: list[str], latency_ms: float) -> None:
    """The one log line and the metrics of a request: counts and labels, never the texts."""
    ok = status == 200
    logger.info(
        "request",
        extra={
            "event_kind": kind.value,
            "status": status,
            "error_code": None if ok else body["error"]["code"],
            "texts": len(texts),
            "chars": sum(map(len, texts)),
            # Classifications only: the labels say what was asked about as little as counts do
            # (null for an answer under min_score: how often the model was unsure).
            "labels": [p["label"] for p in body.get("predictions", [body]) if "label" in p] if ok else [],
            "latency_ms": latency_ms,
        },
    )
    metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=latency_ms)
    if ok:
        metrics.add_metric(name="Predictions", unit=MetricUnit.Count, value=len(texts))
    else:
        metrics.add_metric(name="Errors", unit=MetricUnit.Count, value=1)


def _error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def _respond(kind: EventKind, status: int, body: dict, request_id: str, origin: str | None) -> dict:
    """Errors carry the request id; a direct invocation gets the object itself, with the status
    it would have had inside the error, and API Gateway gets a proxy response (with CORS headers
    for an allowed Origin, errors included, so a browser can read why it was refused), whose
    X-Request-Id header matches any answer to its log line (function_request_id)."""
    if "error" in body:
        body["error"]["request_id"] = request_id
        if kind is EventKind.DIRECT:
            body["error"]["status"] = status
    if kind is EventKind.DIRECT:
        return body
    headers = {**JSON_HEADERS, **cors_headers(RUNTIME.settings.cors_allow_origins, origin), "X-Request-Id": request_id}
    if status == 405:
        headers["Allow"] = ALLOWED_METHOD
    return {"statusCode": status, "headers": headers, "body": json.dumps(body), "isBase64Encoded": False}
