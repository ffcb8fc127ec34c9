"""`python -m local.server`: the API on http://127.0.0.1:3000, with no AWS and no Docker.

Every request runs the Lambda handler itself, loaded once at start-up:
- POST /2015-03-31/functions/function/invocations: like the Lambda Runtime Interface Emulator,
  the body is the event and the answer is the handler's return value as JSON.
- Any other request becomes the REST API (v1) proxy event API Gateway would send, and the
  handler's statusCode, headers and body become the response; so the handler alone decides
  that GET /predict is a 405 and /other a 404, as it does when deployed.

HOST (default 127.0.0.1) and PORT (default 3000; 0 picks a free port) choose the address;
IDLE_CLIENT_SECONDS (default 30) is how long a client may send nothing before it is dropped.
Ctrl-C or SIGTERM stops the server cleanly.
"""

import base64
import json
import os
import signal
import sys
import threading
import time
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qsl

from waitress import create_server

from local.lambda_context import LocalLambdaContext

# Where the image's LAMBDA_TASK_ROOT puts the package, so `import inference` works the same.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambda_image"))

from inference.schema import RequestError, parse_json  # noqa: E402  (needs the path above)

RIE_PATH = "/2015-03-31/functions/function/invocations"
# Lambda refuses synchronous payloads over 6 MB before the function runs; waitress does the
# same here (with its own 413), while smaller bodies over MAX_BODY_BYTES get the handler's 413.
LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024
# A client that sends nothing for this long is dropped (API Gateway gives up after 29 s).
IDLE_CLIENT_SECONDS = 30


class LocalGateway:
    """A WSGI app that plays API Gateway and the Lambda service in front of one handler."""

    def __init__(self, handler) -> None:
        self.handler = handler
        # One invocation at a time, as in one Lambda execution environment: Powertools keeps
        # per-invocation state (log keys, metric buffer) in shared objects.
        self._one_invocation_at_a_time = threading.Lock()

    def __call__(self, environ: dict, start_response):
        context = LocalLambdaContext()
        body = environ["wsgi.input"].read()
        if environ.get("PATH_INFO") == RIE_PATH:
            status, headers, payload = self._invoke_directly(body, context)
        else:
            response = self._invoke(rest_api_event(environ, body, context.aws_request_id), context)
            status, headers, payload = response["statusCode"], response["headers"], response["body"]
        encoded = payload.encode("utf-8")
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [*headers.items(), ("Content-Length", str(len(encoded)))],
        )
        return [encoded]

    def _invoke(self, event: object, context: LocalLambdaContext) -> dict:
        with self._one_invocation_at_a_time:
            return self.handler(event, context)

    def _invoke_directly(self, body: bytes, context: LocalLambdaContext) -> tuple[int, dict, str]:
        try:
            event = parse_json(body)
        except RequestError as error:  # the runtime could not unmarshal the event
            answer = {"error": {"code": error.code, "message": error.message, "status": error.status}}
            return error.status, {"Content-Type": "application/json"}, json.dumps(answer)
        return 200, {"Content-Type": "application/json"}, json.dumps(self._invoke(event, context))


def rest_api_event(environ: dict, body: bytes, request_id: str) -> dict:
    """The REST API (v1) Lambda proxy event API Gateway builds for this HTTP request."""
    headers = {name.title(): value for name, value in _header_items(environ)}
    query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/"
    try:
        text_body, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:  # API Gateway passes binary bodies base64-encoded
        text_body, is_base64 = base64.b64encode(body).decode("ascii"), True
    now = time.time()
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": dict(query) or None,
        "multiValueQueryStringParameters": _multi_value(query) or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": headers.get("Host", "localhost"),
            "httpMethod": method,
            "identity": {"sourceIp": environ.get("REMOTE_ADDR", "127.0.0.1"), "userAgent": headers.get("User-Agent")},
            "path": path,
            "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "requestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourcePath": path,
            "stage": "local",
        },
        "body": text_body or None,
        "isBase64Encoded": is_base64,
    }


def _header_items(environ: dict):
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            yield key[5:].replace("_", "-"), value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            yield key.replace("_", "-"), value


def _multi_value(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    return values


def main() -> None:
    # Ctrl-C (even where a shell started us with SIGINT ignored) and SIGTERM both stop the
    # server: waitress closes its connections and threads on KeyboardInterrupt or SystemExit.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Metrics are EMF lines for CloudWatch; locally they would double every log line.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from inference.handler import lambda_handler  # loads the model: the cold start

    server = create_server(
        LocalGateway(lambda_handler),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "3000")),
        max_request_body_size=LAMBDA_PAYLOAD_LIMIT,
        channel_timeout=int(os.environ.get("IDLE_CLIENT_SECONDS", IDLE_CLIENT_SECONDS)),
        # Look for idle clients every second: waitress's default (30 s) lets one linger for
        # up to twice the timeout. A slow client costs a socket, never one of the threads.
        cleanup_interval=1,
    )
    print(
        f"Serving on http://{server.effective_host}:{server.effective_port} "
        f"(POST /predict, POST {RIE_PATH}); Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    server.run()
    print("Stopped", file=sys.stderr, flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C while the model was still loading
        sys.exit(130)
