"""Locust users for the load test; loadtest/run.py starts the server and runs them headless.

Each user sends, back to back, valid single and batch requests and invalid ones, and checks every
answer: the status, the error code, and for each text the label and score the model gave it when
asked in-process before the run (the JSON file LOAD_EXPECTED_ANSWERS names). Any other answer
counts as a failure, and so does any error. The final stats go to the JSON file LOAD_RESULT names.
"""

import json
import os
import random
from pathlib import Path

from locust import FastHttpUser, constant, events, task

# {text: [label, score]}
EXPECTED = json.loads(Path(os.environ["LOAD_EXPECTED_ANSWERS"]).read_text())
TEXTS = sorted(EXPECTED)
# Scores come back rounded to 4 decimals; a batch pads texts, which moves them by far less.
SCORE_TOLERANCE = 0.01
JSON = {"Content-Type": "application/json"}
INVALID = [
    # (name, method, path, body, content type, status, code)
    ("malformed json", "POST", "/predict", '{"text": ', "application/json", 400, "invalid_json"),
    ("empty batch", "POST", "/predict", '{"texts": []}', "application/json", 400, "invalid_request"),
    ("text too long", "POST", "/predict", json.dumps({"text": "x" * 5000}), "application/json", 413, "text_too_long"),
    ("too many texts", "POST", "/predict", json.dumps({"texts": ["x"] * 500}), "application/json", 413, "too_many_texts"),
    ("wrong content type", "POST", "/predict", '{"text": "a"}', "text/plain", 415, "unsupported_media_type"),
    ("get", "GET", "/predict", None, "application/json", 405, "method_not_allowed"),
    ("other path", "POST", "/admin", '{"text": "a"}', "application/json", 404, "not_found"),
]


class ApiClient(FastHttpUser):
    # No think time: every user keeps the server busy, which shows its throughput.
    wait_time = constant(0)

    @task(5)
    def single(self) -> None:
        text = random.choice(TEXTS)
        with self.client.post("/predict", json={"text": text}, name="valid: single", catch_response=True) as response:
            self._check_predictions(response, [text], lambda body: [body])

    @task(3)
    def batch(self) -> None:
        texts = random.sample(TEXTS, k=random.randint(2, 8))
        with self.client.post(
            "/predict", json={"texts": texts}, name="valid: batch", catch_response=True
        ) as response:
            self._check_predictions(response, texts, lambda body: body["predictions"])

    @task(2)
    def invalid(self) -> None:
        name, method, path, body, content_type, status, code = random.choice(INVALID)
        with self.client.request(
            method, path, data=body, headers={"Content-Type": content_type}, name=f"invalid: {name}", catch_response=True
        ) as response:
            if response.status_code != status:
                response.failure(f"status {response.status_code}, expected {status}")
            elif response.json()["error"]["code"] != code:
                response.failure(f"error code {response.json()['error']['code']}, expected {code}")
            else:
                response.success()

    @staticmethod
    def _check_predictions(response, texts: list[str], predictions_of) -> None:
        if response.status_code != 200:
            response.failure(f"status {response.status_code}: {response.text[:200]}")
            return
        predictions = predictions_of(response.json())
        if len(predictions) != len(texts):
            response.failure(f"{len(predictions)} predictions for {len(texts)} texts")
            return
        for text, prediction in zip(texts, predictions):
            label, score = EXPECTED[text]
            if prediction["label"] != label or abs(prediction["score"] - score) > SCORE_TOLERANCE:
                response.failure(f"{text!r}: {prediction['label']} {prediction['score']}, expected {label} {score:.4f}")
                return
        response.success()


@events.quitting.add_listener
def write_result(environment, **_) -> None:
    """Locust's own final numbers, once every user has stopped."""
    total = environment.stats.total
    result = {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "requests_per_second": total.total_rps,
        "median_ms": total.get_response_time_percentile(0.5),
        "p95_ms": total.get_response_time_percentile(0.95),
        "requests_by_name": {entry.name: entry.num_requests for entry in environment.stats.entries.values()},
        "failure_messages": [f"{e.name}: {e.error} (x{e.occurrences})" for e in environment.stats.errors.values()],
    }
    Path(os.environ["LOAD_RESULT"]).write_text(json.dumps(result))
