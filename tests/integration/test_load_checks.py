"""The load test's checks against deliberately wrong fake servers on 127.0.0.1: a server that
answers wrongly, even only some of the time, must fail the run, with every request counted."""

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from loadtest.run import LoadResult, run_locust

pytestmark = pytest.mark.slow

MODEL = {"name": "fake-model", "version": "1.0.0"}
LABELS = ["food", "transport", "bills"]
SCORES = [0.99, 0.006, 0.004]
# Eight texts: a batch request samples up to eight.
EXPECTED = {
    "model": MODEL,
    "labels": LABELS,
    "answers": {f"SHOP {n}": ["food", 0.99] for n in range(8)},
}
REQUESTS = 60


def right_single_answer(request: dict) -> dict:
    """The answer the load test expects to a single request for any text of EXPECTED."""
    ranked = [{"label": label, "score": score} for label, score in zip(LABELS, SCORES, strict=True)][: request["top_k"]]
    return {"label": "food", "score": 0.99, "top_k": ranked, "model": MODEL}


def unranked(ranked: list[dict]) -> list[dict]:
    """The first entry in place, the others from lowest score up (the same when top_k < 3)."""
    return ranked[:1] + ranked[1:][::-1]


@contextmanager
def fake_server(answer: Callable[[dict], object], delay: float = 0.0) -> Iterator[str]:
    """Answers every request 200 with answer(its JSON body, or {} if it has none) as JSON, or
    as it is if answer returns bytes: right at best for single requests, wrong for the rest."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keeps the connections open, as locust's client expects

        def do_POST(self) -> None:
            try:
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            except ValueError:
                request = {}
            body = answer(request if isinstance(request, dict) else {})
            body = body if isinstance(body, bytes) else json.dumps(body).encode()
            time.sleep(delay)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *_) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def single_failures(result: LoadResult) -> list[str]:
    return [message for message in result.failure_messages if message.startswith("valid: single:")]


def test_right_single_answers_pass_the_checks():
    """The control for the cases below: the fake's single answers are right, so it is the defect
    each case adds that fails them (batch and invalid requests fail: the fake only does singles)."""
    with fake_server(right_single_answer) as url:
        result = run_locust(url, EXPECTED, users=4, requests=REQUESTS, seconds=30)
    assert result.requests == REQUESTS
    assert result.requests_by_name["valid: single"] > 0
    assert single_failures(result) == []
    assert not result.ok


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (lambda request: {"unexpected": True}, "unreadable answer (KeyError"),
        (lambda request: b"<html>not json</html>", "unreadable answer (JSONDecodeError"),
        (lambda request: {**right_single_answer(request), "label": "bills"}, "bills 0.99, expected food 0.9900"),
        (lambda request: {**right_single_answer(request), "score": 0.5}, "food 0.5, expected food 0.9900"),
        (lambda request: {**right_single_answer(request), "model": {**MODEL, "version": "2"}}, "model {"),
        # Right whenever top_k 1 is asked for (a third of the time): only some answers are wrong.
        (lambda request: {**right_single_answer(request), "top_k": right_single_answer(request)["top_k"][:1]},
         "top_k of 1, asked for"),
        (lambda request: {**right_single_answer(request), "top_k": unranked(right_single_answer(request)["top_k"])},
         "top_k is not ranked by score"),
    ],
    ids=["malformed", "not json", "wrong label", "wrong score", "wrong model", "short top_k", "unranked top_k"],
)  # fmt: skip
def test_a_wrong_answer_fails_the_run_and_every_request_is_counted(answer, problem):
    with fake_server(answer) as url:
        result = run_locust(url, EXPECTED, users=4, requests=REQUESTS, seconds=30)
    assert not result.ok
    assert result.locust_exit_code != 0
    assert result.requests == REQUESTS, "a request that failed its check must still be recorded"
    assert result.exceptions == []
    assert single_failures(result), result.failure_messages
    assert all(problem in message for message in single_failures(result)), single_failures(result)


def test_the_time_cap_fails_a_run_that_has_not_sent_every_request():
    with fake_server(right_single_answer, delay=0.2) as url:
        result = run_locust(url, EXPECTED, users=2, requests=10_000, seconds=2)
    assert result.requests_sent < 10_000
    assert any(problem.startswith("the time cap of 2 s ended the run after") for problem in result.problems)
    assert not result.ok


def test_an_exception_in_the_users_code_fails_the_run():
    """With a single text, a batch request's random.sample raises inside the task: locust only logs
    it in runner.exceptions, which the result reads."""
    one_text = {**EXPECTED, "answers": {"SHOP 0": ["food", 0.99]}}
    with fake_server(right_single_answer) as url:
        result = run_locust(url, one_text, users=2, requests=REQUESTS, seconds=30)
    assert any("Sample larger than population" in exception for exception in result.exceptions), result.exceptions
    assert any(problem.startswith("exceptions in the users' code") for problem in result.problems)
    assert not result.ok
