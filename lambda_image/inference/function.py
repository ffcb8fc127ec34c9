"""The Lambda function of one runtime: every kind of event in, the response that kind expects out.

One function serves API Gateway REST (v1) and HTTP API (v2) proxy events, direct invocations and
the scheduled warm-up (docs/api.md). Powertools' event_handler resolvers were weighed and not
used: each serves one API Gateway format and neither serves direct invocations, so supporting all
kinds would take two resolvers plus custom dispatch and error rendering. What a request means is
the task's business (inference/tasks/); this module only adapts events to it. inference/handler.py
is Lambda's entry point over one of these; the local server builds one per package it serves.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from inference import bulk
from inference.events import ALLOWED_METHOD, EventKind, HttpRequest, cors_headers, event_kind
from inference.runtime import Runtime
from inference.schema import RequestError, error_answer

JSON_HEADERS = {"Content-Type": "application/json"}
Handler = Callable[[object, Any], "dict[str, Any] | list[dict[str, Any]]"]


class Function:
    """A runtime behind Lambda's handler interface, with its logger and metrics."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        service = runtime.settings.service_name or runtime.settings.route_name
        self.logger = Logger(service=service)
        self.metrics = Metrics(namespace=runtime.settings.metrics_namespace, service=service)
        # Never log the event: it carries the inputs.
        logged = self.logger.inject_lambda_context(log_event=False)(self._handle)
        self.handler: Handler = self.metrics.log_metrics(capture_cold_start_metric=True)(logged)

    def _handle(self, event: object, context: Any) -> dict[str, Any] | list[dict[str, Any]]:
        kind = event_kind(event)
        if kind is EventKind.WARMUP:
            self.metrics.add_metric(name="WarmUps", unit=MetricUnit.Count, value=1)
            return {"warm": True}
        if kind is EventKind.BULK:
            # event_kind() answers BULK for a dict only.
            return self._answer_bulk_batch(cast(dict[str, Any], event))
        started = time.perf_counter()
        status, body, input_counts, origin = self._answer(kind, event)
        self._record(kind, status, body, input_counts, latency_ms=round((time.perf_counter() - started) * 1000, 1))
        return self._respond(kind, status, body, context.aws_request_id, origin)

    def _answer(self, kind: EventKind, event: object) -> tuple[int, dict[str, Any], dict[str, int], str | None]:
        """Status, response object, the log line's counts of the inputs it answered (none when
        refused) and the request's Origin."""
        origin = None
        try:
            if kind is EventKind.DIRECT:
                payload = event
            else:
                # event_kind() answers REST_V1 and HTTP_V2 for a dict only.
                http_request = HttpRequest.from_event(cast(dict[str, Any], event), kind)
                origin = http_request.headers.get("origin")
                settings = self.runtime.settings
                payload = http_request.payload(
                    settings.max_body_bytes, settings.route_name, self.runtime.task.binary_media_types
                )
            answer = self.runtime.answer(payload)
            return 200, answer.body, answer.input_counts, origin
        except RequestError as error:
            return error.status, self._error_body(error.code, error.message), {}, origin
        except Exception:  # a bug: the traceback goes to the log, never to the caller
            self.logger.exception("unhandled error")
            return (
                500,
                self._error_body("internal_error", "internal error: quote the request id when reporting it"),
                {},
                origin,
            )

    def _answer_bulk_batch(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """One result per item of a bulk job batch (inference/bulk.py), and one log line: counts, never texts."""
        started = time.perf_counter()
        results = bulk.answer_batch(
            event,
            lambda request: self._answer(EventKind.DIRECT, request)[:2],
            self.runtime.package,
            self.runtime.task.request_model,
        )
        errors = sum("error" in result for result in results)
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        self.logger.info(
            "bulk batch",
            extra={
                "event_kind": EventKind.BULK.value,
                "items": len(results),
                "item_errors": errors,
                "latency_ms": latency_ms,
            },
        )
        self.metrics.add_metric(name="BulkItems", unit=MetricUnit.Count, value=len(results))
        self.metrics.add_metric(name="BulkItemErrors", unit=MetricUnit.Count, value=errors)
        return results

    def _record(
        self, kind: EventKind, status: int, body: dict[str, Any], input_counts: dict[str, int], latency_ms: float
    ) -> None:
        """The one log line and the metrics of a request: counts and labels, never the inputs (texts
        and characters, or images and bytes: the task's input_counts)."""
        ok = status == 200
        self.logger.info(
            "request",
            extra={
                "event_kind": kind.value,
                "status": status,
                "error_code": None if ok else body["error"]["code"],
                **(input_counts or dict.fromkeys(self.runtime.task.counts, 0)),
                # Classifications only: the labels say what was asked about as little as counts do
                # (null for an answer under min_score: how often the model was unsure).
                "labels": [p["label"] for p in body.get("predictions", [body]) if "label" in p] if ok else [],
                "latency_ms": latency_ms,
            },
        )
        self.metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=latency_ms)
        if ok:
            self.metrics.add_metric(name="Predictions", unit=MetricUnit.Count, value=next(iter(input_counts.values())))
        else:
            self.metrics.add_metric(name="Errors", unit=MetricUnit.Count, value=1)

    @staticmethod
    def _error_body(code: str, message: str) -> dict[str, Any]:
        return {"error": {"code": code, "message": message}}

    def _respond(
        self, kind: EventKind, status: int, body: dict[str, Any], request_id: str, origin: str | None
    ) -> dict[str, Any]:
        """Errors carry the request id; a direct invocation gets the object itself, with the status
        it would have had inside the error, and API Gateway gets a proxy response (with CORS headers
        for an allowed Origin, errors included, so a browser can read why it was refused), whose
        X-Request-Id header matches any answer to its log line (function_request_id)."""
        if "error" in body:
            direct_status = status if kind is EventKind.DIRECT else None
            body = error_answer(body["error"]["code"], body["error"]["message"], request_id, direct_status)
        if kind is EventKind.DIRECT:
            return body
        headers = {
            **JSON_HEADERS,
            **cors_headers(self.runtime.settings.cors_allow_origins, origin),
            "X-Request-Id": request_id,
        }
        if status == 405:
            headers["Allow"] = ALLOWED_METHOD
        return {"statusCode": status, "headers": headers, "body": json.dumps(body), "isBase64Encoded": False}
