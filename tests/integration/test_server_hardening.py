"""The local server under abuse: started as `make serve` starts it (no HOST), it binds only the
loopback address, refuses oversized bodies, drops idle clients, and slow clients never keep
it from serving others."""

import json
import signal
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from local.process import ServerProcess
from local.server import LAMBDA_PAYLOAD_LIMIT

pytestmark = pytest.mark.slow

IDLE_CLIENT_SECONDS = 2
SLOW_CLIENTS = 12  # more than waitress's 4 worker threads
REQUEST = {"text": "STARBUCKS STORE 10432 SEATTLE WA"}


@pytest.fixture(scope="module")
def server():
    running = ServerProcess({"HOST": None, "IDLE_CLIENT_SECONDS": str(IDLE_CLIENT_SECONDS)})
    yield running
    if running.process.poll() is None:
        running.stop(signal.SIGTERM)


def address(server) -> tuple[str, int]:
    url = urlsplit(server.url)
    return url.hostname, url.port


def predict(server) -> requests.Response:
    return requests.post(f"{server.url}/predict", json=REQUEST, timeout=60)


def test_without_host_the_server_binds_only_the_loopback_address(server):
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


def test_slow_clients_trickling_their_headers_do_not_block_other_clients(server):
    stop = threading.Event()
    request_line = b"POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"

    def trickle(client: socket.socket) -> None:
        for byte in request_line:
            if stop.wait(0.2):
                return
            client.sendall(bytes([byte]))

    slow_clients = [socket.create_connection(address(server), timeout=30) for _ in range(SLOW_CLIENTS)]
    tricklers = [threading.Thread(target=trickle, args=(client,)) for client in slow_clients]
    for trickler in tricklers:
        trickler.start()
    try:
        time.sleep(1)  # every slow client has started its request
        statuses = [predict(server).status_code for _ in range(5)]
        still_trickling = all(trickler.is_alive() for trickler in tricklers)
    finally:
        stop.set()
        for trickler in tricklers:
            trickler.join()
        for client in slow_clients:
            client.close()
    assert statuses == [200] * 5
    assert still_trickling, "the slow clients finished before the others were served"


def test_a_client_that_goes_quiet_mid_request_is_disconnected(server):
    with socket.create_connection(address(server), timeout=IDLE_CLIENT_SECONDS * 10) as client:
        client.sendall(b"POST /predict HTTP/1.1\r\nHost: localhost\r\n")
        assert client.recv(4096) == b"", "the server kept the idle connection open"
    assert predict(server).status_code == 200
