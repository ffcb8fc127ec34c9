"""The request deadline counts from a request's own first byte, not from the one before it on
the same connection: LocalServer in this process, in front of a stub app (no model), so the
deadline and the idle timeout can be told apart in seconds."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from waitress import wasyncore

from local.server import LocalServer

REQUEST_DEADLINE_SECONDS = 1
IDLE_CLIENT_SECONDS = 30
# Maintenance runs every second, at the end of a wait of up to a second.
CHECK_SLACK_SECONDS = 2.5
# A POST followed by the CRLF RFC 7230 §3.5 lets a client send after a body: waitress skips it,
# but only once the next request comes, so a new (blank) request starts with it.
POST_THEN_CRLF = b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}\r\n"
POST = POST_THEN_CRLF.removesuffix(b"\r\n")


def stub_app(environ: dict, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def address() -> Iterator[tuple[str, int]]:
    server = LocalServer(
        stub_app,
        request_deadline=REQUEST_DEADLINE_SECONDS,
        host="127.0.0.1",
        port=0,
        channel_timeout=IDLE_CLIENT_SECONDS,
        cleanup_interval=1,
    )
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    yield server.effective_host, server.effective_port

    def stop() -> None:  # in the serving thread: the loop ends once it watches no sockets
        server.task_dispatcher.shutdown()
        wasyncore.close_all(server._map)

    server.trigger.pull_trigger(stop)  # type: ignore[arg-type]  # stubs: a thunk of one argument; waitress calls thunk()
    serving.join(timeout=10)


def answer(client: socket.socket) -> bytes:
    """One response to POST (its 2-byte body ends it), or b"" if the server hung up."""
    response = b""
    while not response.endswith(b"\r\n\r\n{}"):
        chunk = client.recv(4096)
        if not chunk:
            return response
        response += chunk
    return response


def test_an_idle_keep_alive_connection_outlives_the_deadline_after_a_trailing_crlf(address):
    with socket.create_connection(address, timeout=IDLE_CLIENT_SECONDS) as client:
        client.sendall(POST_THEN_CRLF)
        assert answer(client).startswith(b"HTTP/1.1 200 ")
        # Past the deadline of the request just answered, well within the idle timeout.
        time.sleep(REQUEST_DEADLINE_SECONDS + CHECK_SLACK_SECONDS)
        client.sendall(POST)
        assert answer(client).startswith(b"HTTP/1.1 200 "), "the server closed an idle connection at the deadline"


def test_a_request_after_blank_lines_is_still_cut_off_at_its_deadline(address):
    with socket.create_connection(address, timeout=IDLE_CLIENT_SECONDS) as client:
        client.sendall(POST_THEN_CRLF)
        assert answer(client).startswith(b"HTTP/1.1 200 ")
        client.sendall(b"POST /echo HTTP/1.1\r\n")  # and never the rest
        started = time.monotonic()
        assert answer(client) == b"", "the server answered instead"
        assert time.monotonic() - started < REQUEST_DEADLINE_SECONDS + CHECK_SLACK_SECONDS
