"""Locust users for the load test; loadtest/run.py starts the server and runs them headless.

Each user sends, back to back, valid single and batch requests and invalid ones, and checks every
answer: the status, the error code, and for each text the label and score the model gave it when
asked in-process before the run, the length and order of its top_k, and the model's name and
version (the JSON file LOAD_EXPECTED_ANSWERS names). Any other answer counts as a failure, and so
does any error. The users send LOAD_REQUESTS requests in all, then the run stops; locust's
--run-time is only the time cap. The final stats go to the JSON file LOAD_RESULT names.
"""

import json
import os
import random
from pathlib import Path

import gevent
from locust import FastHttpUser, constant, events, task

# {"model": {"name", "version"}, "labels": [...], "answers": {text: [label, score]}}
EXPECTED = json.loads(Path(os.environ["LOAD_EXPECTED_ANSWERS"]).read_text())
MODEL, LABELS, ANSWERS = EXPECTED["model"], EXPECTED["labels"], EXPECTED["answers"]
TEXTS = sorted(ANSWERS)
REQUESTS = int(os.environ["LOAD_REQUESTS"])
# Scores come back rounded to 4 decimals; a batch pads texts, which moves them by far less.
SCORE_TOLERANCE = 0.01
INVALID = [
    # (name, method, path, body, content type, status, code)
    ("malformed json", "POST", "/predict", '{"text": ', "application/json", 400, "invalid_json"),
    ("empty batch", "POST", "/predict", '{"texts": []}', "application/json", 400, "invalid_request"),
    ("text too long", "POST", "/predict", json.dumps({"text": "x" * 5000}), "application/json", 413, "text_too_long"),
    (
        "too many texts",
        "POST",
        "/predict",
        json.dumps({"texts": ["x"] * 500}),
        "application/json",
        413,
        "too_many_texts",
    ),
    ("wrong content type", "POST", "/predict", '{"text": "a"}', "text/plain", 415, "unsupported_media_type"),
    ("get", "GET", "/predict", None, "application/json", 405, "method_not_allowed"),
    ("other path", "POST", "/admin", '{"text": "a"}', "application/json", 404, "not_found"),
]
requests_sent = 0


class ApiClient(FastHttpUser):
    # No think time: every user keeps the server busy, which shows its throughput.
    wait_time = constant(0)

    @task(5)
    def single(self) -> None:
        if not self._take_request():
            return
        text, top_k = random.choice(TEXTS), random.randint(1, len(LABELS))
        with self.client.post(
            "/predict", json={"text": text, "top_k": top_k}, name="valid: single", catch_response=True
        ) as response:
            _judge(response, lambda: _single_problem(response.json(), text, top_k))

    @task(3)
    def batch(self) -> None:
        if not self._take_request():
            return
        texts, top_k = random.sample(TEXTS, k=random.randint(2, 8)), random.randint(1, len(LABELS))
        with self.client.post(
            "/predict", json={"texts": texts, "top_k": top_k}, name="valid: batch", catch_response=True
        ) as response:
            _judge(response, lambda: _batch_problem(response.json(), texts, top_k))

    @task(2)
    def invalid(self) -> None:
        if not self._take_request():
            return
        name, method, path, body, content_type, status, code = random.choice(INVALID)
        with self.client.request(
            method,
            path,
            data=body,
            headers={"Content-Type": content_type},
            name=f"invalid: {name}",
            catch_response=True,
        ) as response:
            _judge(response, lambda: _error_problem(response, status, code))

    def _take_request(self) -> bool:
        """Counts one request against the fixed total, or stops this user once all have been sent.
        The user that takes the last one quits the run (from its own greenlet, so that locust stops
        every user the same way): requests in flight finish, within --stop-timeout."""
        global requests_sent
        if requests_sent >= REQUESTS:
            self.stop()
            return False
        requests_sent += 1
        if requests_sent == REQUESTS:
            gevent.spawn(self.environment.runner.quit)
        return True


def _judge(response, problem_of) -> None:
    """Marks the request failed with what is wrong with its answer, or succeeded. A body of the
    wrong shape makes the check raise, and an exception inside catch_response would leave the
    request neither recorded nor failed: it has to become a failure here."""
    if response.status_code == 0:  # no answer at all: locust has recorded the connection error
        return
    try:
        problem = problem_of()
    except Exception as error:
        problem = f"unreadable answer ({type(error).__name__}: {error})"
    if problem:
        response.failure(f"{problem}; body: {(response.content or b'')[:200]!r}")
    else:
        response.success()


def _single_problem(body: dict, text: str, top_k: int) -> str | None:
    return _model_problem(body) or _prediction_problem(body, text, top_k)


def _batch_problem(body: dict, texts: list[str], top_k: int) -> str | None:
    if problem := _model_problem(body):
        return problem
    predictions = body["predictions"]
    if len(predictions) != len(texts):
        return f"{len(predictions)} predictions for {len(texts)} texts"
    return next(filter(None, (_prediction_problem(p, t, top_k) for p, t in zip(predictions, texts, strict=True))), None)


def _model_problem(body: dict) -> str | None:
    return None if body["model"] == MODEL else f"model {body['model']}, expected {MODEL}"


def _prediction_problem(prediction: dict, text: str, top_k: int) -> str | None:
    label, score = ANSWERS[text]
    if prediction["label"] != label or abs(prediction["score"] - score) > SCORE_TOLERANCE:
        return f"{text!r}: {prediction['label']} {prediction['score']}, expected {label} {score:.4f}"
    ranked = prediction["top_k"]
    if len(ranked) != top_k:
        return f"{text!r}: top_k of {len(ranked)}, asked for {top_k}"
    if ranked[0] != {"label": prediction["label"], "score": prediction["score"]}:
        return f"{text!r}: top_k starts with {ranked[0]}, not the label and score"
    labels = [entry["label"] for entry in ranked]
    if len(set(labels)) != len(labels) or not set(labels) <= set(LABELS):
        return f"{text!r}: top_k labels {labels} are not distinct labels of the model"
    if [e["score"] for e in ranked] != sorted((e["score"] for e in ranked), reverse=True):
        return f"{text!r}: top_k is not ranked by score"
    return None


def _error_problem(response, status: int, code: str) -> str | None:
    if response.status_code != status:
        return f"status {response.status_code}, expected {status}"
    if response.json()["error"]["code"] != code:
        return f"error code {response.json()['error']['code']}, expected {code}"
    return None


@events.quitting.add_listener
def write_result(environment, **_) -> None:
    """Locust's own final numbers, once every user has stopped."""
    total = environment.stats.total
    result = {
        "requests": total.num_requests,
        "requests_sent": requests_sent,
        "failures": total.num_failures,
        "requests_per_second": total.total_rps,
        "median_ms": total.get_response_time_percentile(0.5),
        "p95_ms": total.get_response_time_percentile(0.95),
        "requests_by_name": {entry.name: entry.num_requests for entry in environment.stats.entries.values()},
        "failure_messages": [f"{e.name}: {e.error} (x{e.occurrences})" for e in environment.stats.errors.values()],
        # Exceptions raised in a user's task: the request they interrupted may be in no count above.
        "exceptions": [f"{row['msg']} (x{row['count']})" for row in environment.runner.exceptions.values()],
    }
    Path(os.environ["LOAD_RESULT"]).write_text(json.dumps(result))
