"""`python -m local.server`: the API on http://127.0.0.1:3000, with no AWS and no Docker.

Every request runs the Lambda handler itself, one per package, each loaded once at start-up:
- POST /2015-03-31/functions/function/invocations: like the Lambda Runtime Interface Emulator,
  the body is the event and the answer is the first package's handler's return value as JSON.
- GET /models: the list of the packages served, the same document the deployed API answers.
- Any other request becomes the REST API (v1) proxy event API Gateway would send, to the handler
  of the package its route names (/models/<name>/...), else the first package's, and the handler's
  statusCode, headers and body become the response; so the handler alone decides that GET
  /predict is a 405 and /other a 404, as it does when deployed.

Which packages (docs/api.md, "Several models"): MODELS=a,b (folders of model_artifacts/, as the
stack's `models` setting) serves those, the first also on POST /predict; else MODEL_DIR=<folder>
serves that one package alone; else every package of model_artifacts/, transaction-classifier first.

LISTEN_HOST (default 127.0.0.1) and PORT (default 3000; 0 picks a free port) choose the address
(not HOST: tcsh exports it as the machine's name, which would put the server on the network);
IDLE_CLIENT_SECONDS (default 30) is how long a client may send nothing before it is dropped,
REQUEST_DEADLINE_SECONDS (default 10) how long it may take to send a whole request, and
CONNECTION_LIMIT (default 64) how many connections are open at once (more wait to be accepted).
The handlers' settings (MAX_BATCH, MODEL_BACKEND, ...) are the deployment's, read as synth reads
them (cdk.json with the `-c` options of CDK_ARGS, deployment/settings.py), each overridden by its
own variable where one is set. Ctrl-C or SIGTERM stops the server cleanly. A setting it cannot
start with (PORT=abc, a port in use, MAX_BATCH=0, no model in MODEL_DIR, a package it cannot serve)
stops it with exit code 2 and one line on stderr.
"""

import base64
import errno
import json
import os
import signal
import sys
import threading
import time
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.trigger import trigger as Trigger

from deployment.catalog import PACKAGES_DIR, available_packages, models_document, parse_model_names
from deployment.openapi import document as openapi_document
from deployment.settings import SettingsError, load_settings
from inference.package import PackageError
from inference.schema import Limits, RequestError, error_answer, parse_json
from inference.settings import LAMBDA_PAYLOAD_LIMIT, REPO_MODEL_DIR, Settings
from local.events import rest_api_event
from local.lambda_context import LocalLambdaContext

if TYPE_CHECKING:
    from waitress.wasyncore import _SocketMap  # the stubs' name for a dispatcher's socket map

RIE_PATH = "/2015-03-31/functions/function/invocations"
OPENAPI_PATH = "/openapi.json"
MODELS_PATH = "/models"
# Lambda refuses synchronous payloads over LAMBDA_PAYLOAD_LIMIT before the function runs; waitress
# does the same here (with its own 413), while smaller bodies over MAX_BODY_BYTES get the handler's 413.
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
    """A WSGI app that plays API Gateway and the Lambda service in front of one handler per package
    (`handlers`, by name, the first answering POST /predict)."""

    def __init__(self, handlers: dict, openapi: str, models: str) -> None:
        self.handlers = handlers
        self.handler = next(iter(handlers.values()))
        # GET /openapi.json: the OpenAPI document of the first package (docs/openapi.json is the
        # one of the deployed package).
        self.openapi = openapi
        # GET /models: answered here, as API Gateway answers it without a function.
        self.models = models
        # One invocation at a time, as in one Lambda execution environment: Powertools keeps
        # per-invocation state (log keys, metric buffer) in shared objects.
        self._one_invocation_at_a_time = threading.Lock()

    def __call__(self, environ: dict, start_response):
        context = LocalLambdaContext()
        body = environ["wsgi.input"].read()
        if environ.get("PATH_INFO") == RIE_PATH:
            status, headers, payload = self._invoke_directly(environ["REQUEST_METHOD"], body, context)
        elif environ.get("PATH_INFO") == OPENAPI_PATH and environ["REQUEST_METHOD"] in ("GET", "HEAD"):
            status, headers, payload = 200, {"Content-Type": "application/json"}, self.openapi
        elif environ.get("PATH_INFO") == MODELS_PATH and environ["REQUEST_METHOD"] in ("GET", "HEAD"):
            status, headers = 200, {"Content-Type": "application/json", "X-Request-Id": context.aws_request_id}
            payload = self.models
        else:
            handler = self._handler_for(environ.get("PATH_INFO") or "/")
            response = self._invoke(handler, rest_api_event_of(environ, body, context.aws_request_id), context)
            status, headers, payload = response["statusCode"], response["headers"], response["body"]
        encoded = payload.encode("utf-8")
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [*headers.items(), ("Content-Length", str(len(encoded)))],
        )
        return [encoded]

    def _handler_for(self, path: str):
        """The handler of the package a /models/<name>/... path names, as each of those routes
        reaches its package's function when deployed; any other path, the first package's."""
        parts = path.split("/")
        if len(parts) > 2 and parts[1] == "models" and parts[2] in self.handlers:
            return self.handlers[parts[2]]
        return self.handler

    def _invoke(self, handler, event: object, context: LocalLambdaContext) -> dict:
        with self._one_invocation_at_a_time:
            return handler(event, context)

    def _invoke_directly(self, method: str, body: bytes, context: LocalLambdaContext) -> tuple[int, dict, str]:
        try:
            if method != "POST":
                raise RequestError(405, "method_not_allowed", f"{RIE_PATH} accepts only POST")
            event = parse_json(body)
        except RequestError as error:  # no event the runtime could hand to the handler
            return self._refuse(error, context)
        return 200, {"Content-Type": "application/json"}, json.dumps(self._invoke(self.handler, event, context))

    def _refuse(self, error: RequestError, context: LocalLambdaContext) -> tuple[int, dict, str]:
        """A direct invocation refused before the handler runs: the handler's error shape (with
        the status and request id it adds) and one log line, with the fields that apply to it."""
        # The one log line per request, written by the server itself: going through the handler's
        # logger (inject_lambda_context) would spend Powertools' cold start on a request the
        # handler never saw. Under the lock, so it never lands amid the handler's lines.
        line = {
            "level": "INFO",
            "message": "request",
            "function_request_id": context.aws_request_id,
            "event_kind": "direct",
            "status": error.status,
            "error_code": error.code,
        }
        with self._one_invocation_at_a_time:
            print(json.dumps(line, separators=(",", ":")), flush=True)
        answer = error_answer(error.code, error.message, context.aws_request_id, error.status)
        headers = {"Content-Type": "application/json", **({"Allow": "POST"} if error.status == 405 else {})}
        return error.status, headers, json.dumps(answer)


class DeadlineChannel(HTTPChannel):
    """A connection that notes when the request it is receiving began (its first byte)."""

    request_started = 0.0

    def received(self, data: bytes) -> bool:
        before = self.request
        waiting = before is None or only_blank_lines(before)
        result = super().received(data)
        # By the parser's identity, not by `request` being None before the call: one read can
        # finish a request and start the next (a pipelined request, or the CRLF RFC 7230 §3.5
        # lets a client send after a body), and that one began now, not when the last one did.
        # A parser that has had only blank lines begins its request with its first other byte.
        if self.request is not None and (self.request is not before or waiting):
            self.request_started = time.monotonic()
        return result


class LocalServer(TcpWSGIServer):
    """waitress's server, whose periodic maintenance (every `cleanup_interval`) also closes a
    connection still receiving a request `request_deadline` seconds after its first byte, even
    one that keeps sending (waitress's own closes only connections idle for `channel_timeout`).
    It listens on one address, LISTEN_HOST's, as waitress's create_server does for an IP address."""

    channel_class = DeadlineChannel
    if TYPE_CHECKING:
        # What waitress's BaseWSGIServer sets that its stubs (types-waitress) omit or declare otherwise.
        effective_host: str  # the address bound (getsockname), for a URL
        effective_port: int
        _map: _SocketMap  # wasyncore's dispatcher's socket map: the sockets the loop watches
        active_channels: dict[int, DeadlineChannel]  # type: ignore[assignment]  # stubs: one HTTPChannel
        trigger: Trigger  # type: ignore[assignment]  # stubs: an int; waitress: the loop's wake-up dispatcher

    def __init__(self, application, request_deadline: float, **adjustments) -> None:
        self.request_deadline = request_deadline
        super().__init__(application, **adjustments)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # type: ignore[arg-type]  # stubs: an int; waitress passes time.time()
        cutoff = time.monotonic() - self.request_deadline
        for channel in self.active_channels.values():
            # `request` is the one still being received; `requests` are those being answered.
            # Blank lines between requests are no request yet: only the idle timeout applies.
            request = channel.request
            if (
                request is not None
                and not only_blank_lines(request)
                and not channel.requests
                and channel.request_started < cutoff
            ):
                channel.will_close = True


def only_blank_lines(parser: HTTPRequestParser) -> bool:
    """Whether the parser has received nothing but the blank lines waitress skips before a
    request line (`header_plus` holds what it has of the request line and headers so far)."""
    return not parser.headers_finished and not parser.header_plus.strip()


def rest_api_event_of(environ: dict, body: bytes, request_id: str) -> dict:
    """The REST API (v1) Lambda proxy event API Gateway builds for this HTTP request."""
    headers = {name.title(): value for name, value in _header_items(environ)}
    try:
        text_body, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:  # API Gateway passes binary bodies base64-encoded
        text_body, is_base64 = base64.b64encode(body).decode("ascii"), True
    return rest_api_event(
        text_body or None,
        method=environ["REQUEST_METHOD"],
        path=environ.get("PATH_INFO") or "/",
        headers=headers,
        is_base64=is_base64,
        query=parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True),
        request_id=request_id,
        source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
        protocol=environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
    )


def _header_items(environ: dict):
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            yield key[5:].replace("_", "-"), value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            yield key.replace("_", "-"), value


class ServerSettings(BaseModel):
    """The server's own environment variables (the handler's are inference.settings.Settings)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    listen_host: str = Field("127.0.0.1", alias="LISTEN_HOST")
    # waitress takes 99999 and listens on 34463 (99999 - 65536).
    port: int = Field(3000, ge=0, le=65535, alias="PORT")
    idle_client_seconds: PositiveInt = Field(IDLE_CLIENT_SECONDS, alias="IDLE_CLIENT_SECONDS")
    request_deadline_seconds: PositiveInt = Field(REQUEST_DEADLINE_SECONDS, alias="REQUEST_DEADLINE_SECONDS")
    # Below 3 waitress, counting its listening socket and wake-up pipe, would accept no one.
    connection_limit: int = Field(CONNECTION_LIMIT, ge=3, alias="CONNECTION_LIMIT")
    # Comma-separated folders of model_artifacts/ to serve, as the stack's `models` setting.
    models: str | None = Field(None, alias="MODELS")


class StartupError(Exception):
    """A setting the server cannot start with: one line for the user, no traceback."""


def served_folders(models: str | None, environ: dict) -> dict[str, Path]:
    """The package folders to serve by name (the route's), the first also on POST /predict:
    MODELS's, else MODEL_DIR's alone, else every package of model_artifacts/ with the default first."""
    if models is not None and "MODEL_DIR" in environ:
        raise StartupError(
            "MODELS and MODEL_DIR are both set: MODELS names folders of model_artifacts/, "
            "MODEL_DIR one package anywhere; set one of them"
        )
    if models is not None:
        try:
            return {name: PACKAGES_DIR / name for name in parse_model_names(models)}
        except ValueError as error:
            raise StartupError(f"MODELS={models}: {error}") from None
    if "MODEL_DIR" in environ:
        folder = Path(environ["MODEL_DIR"])
        return {environ.get("MODEL_NAME") or folder.name: folder}
    names = sorted(available_packages(), key=lambda name: name != REPO_MODEL_DIR.name)
    return {name: PACKAGES_DIR / name for name in names} or {REPO_MODEL_DIR.name: REPO_MODEL_DIR}


def load_handlers(folders: dict[str, Path]) -> tuple[dict, list]:
    """A handler per package, by name, and their runtimes. The first is the handler module's own,
    loaded at its import as Lambda's init loads it; the others are made over runtimes of their own.
    A package that cannot be served stops the server, named (PackageError names its folder)."""
    (first, folder), *others = folders.items()
    named = f"MODEL_DIR={folder}" if "MODEL_DIR" in os.environ else f"package {first}"
    os.environ.update(MODEL_DIR=str(folder), MODEL_NAME=first)
    try:
        from inference.handler import RUNTIME, lambda_handler  # loads the model: the cold start
    except PackageError as error:
        raise StartupError(f"{named}: {error}") from None
    from inference.function import Function
    from inference.runtime import Runtime

    handlers, runtimes = {first: lambda_handler}, [RUNTIME]
    for name, folder in others:
        try:
            runtime = Runtime.load(Settings.from_env({**os.environ, "MODEL_DIR": str(folder), "MODEL_NAME": name}))
        except PackageError as error:
            raise StartupError(f"package {name}: {error}") from None
        handlers[name] = Function(runtime).handler
        runtimes.append(runtime)
    return handlers, runtimes


def variables_in_one_line(error: ValidationError) -> str:
    """pydantic's messages, which name the variable, on one line: `MAX_BATCH=0: Input should be
    greater than 0`; a check across variables names them in its own message."""
    return "; ".join(
        f"{item['loc'][0]}={item['input']}: {item['msg']}" if item["loc"] else item["msg"].removeprefix("Value error, ")
        for item in error.errors()
    )


def main() -> None:
    # Ctrl-C (even where a shell started us with SIGINT ignored) and SIGTERM both stop the
    # server: waitress closes its connections and threads on KeyboardInterrupt or SystemExit.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Metrics are EMF lines for CloudWatch; locally they would double every log line.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    # Every setting is checked before the model loads, the handler's too (it reads them again
    # at import), so a typo costs a second, not a model load and a traceback.
    try:
        config = ServerSettings.model_validate(dict(os.environ))
        deployment = load_settings()
    except ValidationError as error:
        raise StartupError(variables_in_one_line(error)) from None
    except SettingsError as error:
        raise StartupError(f"the deployment's settings (cdk.json, CDK_ARGS): {error}") from None
    for name, value in deployment.shared_environment().items():
        os.environ.setdefault(name, value)
    try:
        Settings.from_env()
    except ValidationError as error:
        raise StartupError(variables_in_one_line(error)) from None
    folders = served_folders(config.models, dict(os.environ))
    try:
        # Listening before the model loads, for the same reason; the application comes after
        # it, and connections wait in the listen backlog until run() serves them.
        server = LocalServer(
            None,
            request_deadline=config.request_deadline_seconds,
            host=config.listen_host,
            port=config.port,
            max_request_body_size=LAMBDA_PAYLOAD_LIMIT,
            max_request_header_size=MAX_HEADER_BYTES,
            connection_limit=config.connection_limit,
            channel_timeout=config.idle_client_seconds,
            # Look for idle and late clients every second: waitress's default (30 s) lets one
            # linger for up to twice its limit. A slow client costs a socket, never a thread.
            cleanup_interval=1,
        )
    except ValueError:  # waitress could not resolve it
        raise StartupError(
            f"LISTEN_HOST={config.listen_host} is not an IP address or host name: "
            "set it to an address of this machine (default 127.0.0.1)"
        ) from None
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise StartupError(f"port {config.port} is in use: set PORT to a free port (PORT=0 picks one)") from None
        raise StartupError(
            f"cannot listen on {config.listen_host} port {config.port} ({error.strerror}): "
            "set LISTEN_HOST to an address of this machine (default 127.0.0.1)"
        ) from None
    handlers, runtimes = load_handlers(folders)
    first = runtimes[0]
    limits = Limits(max_text_chars=first.settings.max_text_chars, max_batch=first.settings.max_batch)
    server.application = LocalGateway(
        handlers,
        json.dumps(openapi_document(first.package, limits)),
        json.dumps(models_document([runtime.package for runtime in runtimes], names=list(handlers))),
    )
    routes = ", ".join(f"POST /models/{name}/predict" for name in handlers)
    print(
        f"Serving on http://{server.effective_host}:{server.effective_port} "
        f"(POST /predict, {routes}, GET {MODELS_PATH}, POST {RIE_PATH}, GET {OPENAPI_PATH}); Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    server.run()
    print("Stopped", file=sys.stderr, flush=True)


if __name__ == "__main__":
    try:
        main()
    except StartupError as error:
        print(f"local.server: {error}", file=sys.stderr, flush=True)
        sys.exit(2)
    except KeyboardInterrupt:  # Ctrl-C while the model was still loading
        sys.exit(130)
