"""`python -m local.server`: the API on http://127.0.0.1:3000, with no AWS and no Docker.

Every request runs the Lambda handler itself, loaded once at start-up:
- POST /2015-03-31/functions/function/invocations: like the Lambda Runtime Interface Emulator,
  the body is the event and the answer is the handler's return value as JSON.
- Any other request becomes the REST API (v1) proxy event API Gateway would send, and the
  handler's statusCode, headers and body become the response; so the handler alone decides
  that GET /predict is a 405 and /other a 404, as it does when deployed.

LISTEN_HOST (default 127.0.0.1) and PORT (default 3000; 0 picks a free port) choose the address
(not HOST: tcsh exports it as the machine's name, which would put the server on the network);
IDLE_CLIENT_SECONDS (default 30) is how long a client may send nothing before it is dropped,
REQUEST_DEADLINE_SECONDS (default 10) how long it may take to send a whole request, and
CONNECTION_LIMIT (default 64) how many connections are open at once (more wait to be accepted).
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

from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

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
# A client that sends something but never finishes is never idle: without a deadline ~100 of
# them trickling a byte at a time held every connection and locked everyone else out. A real
# client sends even a 6 MB body in well under a second on loopback; 10 s leaves room for a slow
# network when LISTEN_HOST exposes the server, and bounds how long one client can hold a connection.
REQUEST_DEADLINE_SECONDS = 10
# Open connections at once (waitress counts its listening socket and wake-up pipe among them);
# past it new ones wait in the listen backlog until one closes. Four times `make load`'s 16
# users, and far below the 1024 file descriptors select() can watch.
CONNECTION_LIMIT = 64
# API Gateway refuses a request line plus headers over 10 KB; a little more here so the emulator
# never refuses what the deployed API accepts (waitress's default is 256 KB).
MAX_HEADER_BYTES = 16 * 1024


class LocalGateway:
    """A WSGI app that plays API Gateway and the Lambda service in front of one handler."""

    def __init__(self, handler, logger) -> None:
        self.handler = handler
        # One invocation at a time, as in one Lambda execution environment: Powertools keeps
        # per-invocation state (log keys, metric buffer) in shared objects.
        self._one_invocation_at_a_time = threading.Lock()
        # The handler's own logger, with the same Lambda context keys, so that a request the
        # handler never sees still writes the one line per request, in the handler's format.
        self._logger = logger
        self._log_request = logger.inject_lambda_context(self._write_request_line)

    def __call__(self, environ: dict, start_response):
        context = LocalLambdaContext()
        body = environ["wsgi.input"].read()
        if environ.get("PATH_INFO") == RIE_PATH:
            status, headers, payload = self._invoke_directly(environ["REQUEST_METHOD"], body, context)
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

    def _invoke_directly(self, method: str, body: bytes, context: LocalLambdaContext) -> tuple[int, dict, str]:
        try:
            if method != "POST":
                raise RequestError(405, "method_not_allowed", f"{RIE_PATH} accepts only POST")
            event = parse_json(body)
        except RequestError as error:  # no event the runtime could hand to the handler
            return self._refuse(error, context)
        return 200, {"Content-Type": "application/json"}, json.dumps(self._invoke(event, context))

    def _refuse(self, error: RequestError, context: LocalLambdaContext) -> tuple[int, dict, str]:
        """A direct invocation refused before the handler runs: the handler's error shape (with
        the status and request id it adds) and its log line."""
        with self._one_invocation_at_a_time:
            self._log_request(None, context, status=error.status, error_code=error.code)
        answer = {"code": error.code, "message": error.message, "request_id": context.aws_request_id}
        headers = {"Content-Type": "application/json", **({"Allow": "POST"} if error.status == 405 else {})}
        return error.status, headers, json.dumps({"error": {**answer, "status": error.status}})

    def _write_request_line(self, _event: object, _context: LocalLambdaContext, status: int, error_code: str) -> None:
        fields = {"status": status, "error_code": error_code, "texts": 0, "chars": 0, "labels": [], "latency_ms": 0.0}
        self._logger.info("request", extra={"event_kind": "direct", **fields})


class DeadlineChannel(HTTPChannel):
    """A connection that notes when the request it is receiving began (its first byte)."""

    request_started = 0.0

    def received(self, data: bytes) -> bool:
        if self.request is None and data:
            self.request_started = time.monotonic()
        return super().received(data)


class LocalServer(TcpWSGIServer):
    """waitress's server, whose periodic maintenance (every `cleanup_interval`) also closes a
    connection still receiving a request `request_deadline` seconds after its first byte, even
    one that keeps sending (waitress's own closes only connections idle for `channel_timeout`).
    It listens on one address, LISTEN_HOST's, as waitress's create_server does for an IP address."""

    channel_class = DeadlineChannel

    def __init__(self, application, request_deadline: float, **adjustments) -> None:
        self.request_deadline = request_deadline
        super().__init__(application, **adjustments)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        cutoff = time.monotonic() - self.request_deadline
        for channel in self.active_channels.values():
            # `request` is the one still being received; `requests` are those being answered.
            if channel.request is not None and not channel.requests and channel.request_started < cutoff:
                channel.will_close = True


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
    from inference.handler import lambda_handler, logger  # loads the model: the cold start

    server = LocalServer(
        LocalGateway(lambda_handler, logger),
        request_deadline=int(os.environ.get("REQUEST_DEADLINE_SECONDS", REQUEST_DEADLINE_SECONDS)),
        host=os.environ.get("LISTEN_HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "3000")),
        max_request_body_size=LAMBDA_PAYLOAD_LIMIT,
        max_request_header_size=MAX_HEADER_BYTES,
        connection_limit=int(os.environ.get("CONNECTION_LIMIT", CONNECTION_LIMIT)),
        channel_timeout=int(os.environ.get("IDLE_CLIENT_SECONDS", IDLE_CLIENT_SECONDS)),
        # Look for idle and late clients every second: waitress's default (30 s) lets one
        # linger for up to twice its limit. A slow client costs a socket, never a thread.
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
