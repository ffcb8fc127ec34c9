"""The local server under abuse: started as `make serve` starts it (no LISTEN_HOST), it binds only the
loopback address, refuses oversized bodies and headers, drops idle clients, cuts off clients
that take too long to send a request, and slow clients never keep it from serving others, even
more of them than it has connections for."""

import json
import signal
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from local.process import ServerProcess
from local.server import LAMBDA_PAYLOAD_LIMIT, MAX_HEADER_BYTES

pytestmark = pytest.mark.slow

# Small limits (the server's env vars) so that the slow-client tests take seconds.
IDLE_CLIENT_SECONDS = 2
REQUEST_DEADLINE_SECONDS = 3
CONNECTION_LIMIT = 8
CLIENT_SLOTS = CONNECTION_LIMIT - 2  # waitress counts its listening socket and wake-up pipe too
# More than it has connections for (and than its 4 threads), yet few enough that the clients
# queued ahead of a normal request all get a connection when the deadline frees the first ones.
SLOW_CLIENTS = CONNECTION_LIMIT + 2
TRICKLE_SECONDS = 0.3  # between bytes: a slow client, never an idle one
# The server looks for late clients every second, at the end of a wait of up to a second.
CHECK_SLACK_SECONDS = 2.5
REQUEST = {"text": "STARBUCKS STORE 10432 SEATTLE WA"}
# A request that never ends: after its request line, one header line after another.
ENDLESS_HEADERS = b"POST /predict HTTP/1.1\r\nHost: localhost\r\n" + b"X-Slow: x\r\n" * 10_000


@pytest.fixture(scope="module")
def server():
    running = ServerProcess(
        {
            "LISTEN_HOST": None,
            # tcsh exports HOST as the machine's name: it must not move the server off loopback.
            "HOST": "0.0.0.0",
            "IDLE_CLIENT_SECONDS": str(IDLE_CLIENT_SECONDS),
            "REQUEST_DEADLINE_SECONDS": str(REQUEST_DEADLINE_SECONDS),
            "CONNECTION_LIMIT": str(CONNECTION_LIMIT),
        }
    )
    yield running
    if running.process.poll() is None:
        running.stop(signal.SIGTERM)


def address(server) -> tuple[str, int]:
    url = urlsplit(server.url)
    return url.hostname, url.port


def predict(server) -> requests.Response:
    return requests.post(f"{server.url}/predict", json=REQUEST, timeout=60)


def test_without_listen_host_the_server_binds_only_the_loopback_address_whatever_host_says(server):
    assert address(server)[0] == "127.0.0.1"


def test_a_body_over_the_limit_gets_a_json_413_and_the_next_request_is_served(server):
    response = requests.post(f"{server.url}/predict", data=json.dumps({"text": "x" * 1_000_000}), timeout=60)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert predict(server).status_code == 200


def test_a_body_over_lambdas_payload_limit_is_refused_from_its_headers_alone(server):
    """Like Lambda, the server refuses a payload over 6 MB before the function runs; it answers
    from the Content-Length header without waiting for (or reading) the body."""
    with socket.create_connection(address(server), timeout=30) as client:
        client.sendall(
            b"POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (LAMBDA_PAYLOAD_LIMIT + 1)
        )
        assert client.recv(4096).startswith(b"HTTP/1.1 413 ")
    assert predict(server).status_code == 200


def trickle(client: socket.socket, stop: threading.Event) -> None:
    """Send ENDLESS_HEADERS a byte at a time until told to stop or the server hangs up."""
    for byte in ENDLESS_HEADERS:
        if stop.wait(TRICKLE_SECONDS):
            return
        try:
            client.sendall(bytes([byte]))
        except OSError:  # cut off
            return


def hung_up(client: socket.socket, wait: float) -> bool:
    """Whether the server closes the connection within `wait` seconds, without answering."""
    client.settimeout(wait)
    try:
        return client.recv(4096) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:  # it closed with our unread bytes in its buffer
        return True


def test_more_trickling_clients_than_connections_do_not_lock_others_out(server):
    """Each slow client holds a connection, and past CONNECTION_LIMIT new ones wait to be
    accepted; the deadline frees the held connections, so a normal request is answered after
    one deadline (without it, it waited until the slow clients gave up)."""
    stop = threading.Event()
    slow_clients = [socket.create_connection(address(server), timeout=30) for _ in range(SLOW_CLIENTS)]
    tricklers = [threading.Thread(target=trickle, args=(client, stop)) for client in slow_clients]
    for trickler in tricklers:
        trickler.start()
    try:
        time.sleep(1)  # every slow client has started its request; the server is full
        started = time.monotonic()
        status = predict(server).status_code
        waited = time.monotonic() - started
        cut_off = sum(hung_up(client, wait=0.01) for client in slow_clients)
    finally:
        stop.set()
        for trickler in tricklers:
            trickler.join()
        for client in slow_clients:
            client.close()
    assert status == 200
    assert waited >= REQUEST_DEADLINE_SECONDS - 1.5, "the server was not full: the test proves nothing"
    assert waited < REQUEST_DEADLINE_SECONDS + CHECK_SLACK_SECONDS
    assert cut_off >= CLIENT_SLOTS, "the slow clients holding the connections were not cut off"


def test_a_client_that_keeps_trickling_is_cut_off_at_the_deadline(server):
    """Never idle (a byte every TRICKLE_SECONDS), so only the request deadline stops it."""
    stop = threading.Event()
    with socket.create_connection(address(server), timeout=REQUEST_DEADLINE_SECONDS * 10) as client:
        trickler = threading.Thread(target=trickle, args=(client, stop))
        started = time.monotonic()
        trickler.start()
        try:
            assert hung_up(client, wait=REQUEST_DEADLINE_SECONDS * 10), "the server answered instead"
            lasted = time.monotonic() - started
        finally:
            stop.set()
            trickler.join()
    assert REQUEST_DEADLINE_SECONDS - 0.5 <= lasted < REQUEST_DEADLINE_SECONDS + CHECK_SLACK_SECONDS
    assert predict(server).status_code == 200


def test_headers_over_the_limit_are_refused_and_api_gateway_sized_ones_are_not(server):
    """API Gateway takes up to 10 KB of request line and headers: so does the server, not 256 KB."""
    accepted = requests.post(f"{server.url}/predict", json=REQUEST, headers={"X-Pad": "x" * 10_000}, timeout=60)
    assert accepted.status_code == 200
    too_large = {"X-Pad": "x" * MAX_HEADER_BYTES}
    refused = requests.post(f"{server.url}/predict", json=REQUEST, headers=too_large, timeout=60)
    assert refused.status_code == 431  # waitress's own plain-text answer, like its 413


def test_a_client_that_goes_quiet_mid_request_is_disconnected(server):
    with socket.create_connection(address(server), timeout=IDLE_CLIENT_SECONDS * 10) as client:
        client.sendall(b"POST /predict HTTP/1.1\r\nHost: localhost\r\n")
        assert client.recv(4096) == b"", "the server kept the idle connection open"
    assert predict(server).status_code == 200
