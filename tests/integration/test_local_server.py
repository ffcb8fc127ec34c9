"""The local server (`python -m local.server`) as a real process on 127.0.0.1."""

import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from deployment.catalog import available_packages
from local.process import REPO, ServerProcess
from tests.lambda_events import TRANSACTIONS

pytestmark = pytest.mark.slow

RIE_PATH = "/2015-03-31/functions/function/invocations"
# curl -d sends this content type; the README's `curl ... -d '{"text": ...}'` must work.
CURL_FORM = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "curl/8.5.0"}
LOOPBACK = {"LISTEN_HOST": "127.0.0.1"}


@pytest.fixture(scope="module")
def server():
    running = ServerProcess(LOOPBACK)
    yield running
    if running.process.poll() is None:
        running.stop(signal.SIGTERM)


def predict(server, payload: dict) -> requests.Response:
    return requests.post(f"{server.url}/predict", data=json.dumps(payload), headers=CURL_FORM, timeout=60)


def test_curl_style_post_to_predict_answers_food(server):
    response = predict(server, {"text": "STARBUCKS STORE 10432 SEATTLE WA"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["label"] == "food"
    assert 0 < body["score"] <= 1
    assert set(body["model"]) == {"name", "version"}


def test_batch_over_http_keeps_input_order(server):
    body = predict(server, {"texts": TRANSACTIONS, "top_k": 1}).json()
    assert len(body["predictions"]) == len(TRANSACTIONS)
    assert body["predictions"][0]["label"] == "food"


def test_runtime_interface_emulator_path_returns_the_handlers_object(server):
    response = requests.post(f"{server.url}{RIE_PATH}", json={"text": "STARBUCKS STORE 10432 SEATTLE WA"}, timeout=60)
    assert response.status_code == 200
    assert response.json()["label"] == "food"
    assert "statusCode" not in response.json()


def test_runtime_interface_emulator_path_serves_the_warmup_event(server):
    response = requests.post(f"{server.url}{RIE_PATH}", json={"warmup": True}, timeout=60)
    assert response.json() == {"warm": True}


@pytest.mark.parametrize("body", ["{not json", ""], ids=["malformed", "empty"])
def test_runtime_interface_emulator_path_refuses_an_unreadable_event(server, body):
    response = requests.post(f"{server.url}{RIE_PATH}", data=body, timeout=60)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "invalid_json" and error["status"] == 400 and error["request_id"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_runtime_interface_emulator_path_accepts_only_post(server, method):
    response = requests.request(method, f"{server.url}{RIE_PATH}", json={"text": "STARBUCKS"}, timeout=60)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "method_not_allowed" and error["status"] == 405 and error["request_id"]


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/predict", 405, "method_not_allowed"),
        ("POST", "/nope", 404, "not_found"),
        ("GET", "/", 404, "not_found"),
    ],
)
def test_other_methods_and_paths_get_json_errors(server, method, path, status, code):
    response = requests.request(method, f"{server.url}{path}", timeout=60)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code and error["request_id"]


def test_a_body_over_the_limit_gets_a_json_413(server):
    response = predict(server, {"text": "x" * 300_000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_a_non_utf8_body_reaches_the_handler_base64_encoded_and_is_refused(server):
    response = requests.post(f"{server.url}/predict", data=b'{"text": "\xff"}', headers=CURL_FORM, timeout=60)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_utf8"


def test_concurrent_requests_each_get_the_answer_for_their_own_input(server):
    def ask(texts: list[str]) -> list[str]:
        response = predict(server, {"texts": texts, "top_k": 1})
        assert response.status_code == 200
        return [p["label"] for p in response.json()["predictions"]]

    alone = {text: ask([text])[0] for text in TRANSACTIONS}
    assert len(set(alone.values())) > 1, "pick transactions the model tells apart"
    inputs = [[TRANSACTIONS[(start + i) % len(TRANSACTIONS)] for i in range(1 + start % 3)] for start in range(24)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, inputs))
    assert answers == [[alone[text] for text in texts] for texts in inputs]


def test_each_request_logs_exactly_one_line(server):
    """Including those refused before the handler runs: the direct invocations with no event."""
    before = len(server.request_log_lines())
    predict(server, {"text": "CVS/PHARMACY #04512"})
    requests.get(f"{server.url}/predict", timeout=60)
    unreadable = requests.post(f"{server.url}{RIE_PATH}", data="CVS/PHARMACY {", timeout=60).json()
    wrong_method = requests.get(f"{server.url}{RIE_PATH}", timeout=60).json()
    deadline = time.monotonic() + 10
    while len(server.request_log_lines()) < before + 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # and no more than one line each
    lines = server.request_log_lines()[before:]
    assert [line["status"] for line in lines] == [200, 405, 400, 405]
    assert [line.get("error_code") for line in lines[2:]] == ["invalid_json", "method_not_allowed"]
    assert [line["function_request_id"] for line in lines[2:]] == [
        unreadable["error"]["request_id"],
        wrong_method["error"]["request_id"],
    ]
    assert all(line["event_kind"] == "direct" for line in lines[2:])
    assert "CVS" not in json.dumps(lines)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_server_stops_cleanly_on_a_signal(signum):
    own = ServerProcess(LOOPBACK)
    assert predict(own, {"text": "STARBUCKS"}).status_code == 200
    assert own.stop(signum) == 0
    remaining = []
    while not own.stderr.empty():
        remaining.append(own.stderr.get())
    assert "Stopped\n" in remaining
    assert not any("Traceback" in line for line in remaining)


def test_a_refused_direct_invocation_first_leaves_the_cold_start_to_the_handlers_first_request():
    """The server logs a refusal itself: through the handler's logger (inject_lambda_context) it
    would spend Powertools' cold start, and the handler's first request would say cold_start false."""
    own = ServerProcess(LOOPBACK)
    try:
        assert requests.get(f"{own.url}{RIE_PATH}", timeout=60).status_code == 405
        assert predict(own, {"text": "STARBUCKS"}).status_code == 200
    finally:
        own.stop(signal.SIGTERM)  # and its output has all been read
    refused, served = own.request_log_lines()
    assert set(refused) == {"level", "message", "function_request_id", "event_kind", "status", "error_code"}
    assert (refused["status"], served["status"]) == (405, 200)
    assert served["cold_start"] is True


def test_the_server_publishes_the_openapi_document_of_what_it_serves(server):
    response = requests.get(f"{server.url}/openapi.json", timeout=60)
    assert response.status_code == 200
    assert response.json() == json.loads((REPO / "docs" / "openapi.json").read_text())


def test_the_server_lists_every_package_it_serves_as_the_deployed_api_does(server):
    response = requests.get(f"{server.url}/models", timeout=60)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json" and response.headers["X-Request-Id"]
    listing = response.json()["models"]
    # Every package of model_artifacts/, the default (which also answers POST /predict) first.
    assert [model["name"] for model in listing][:1] == ["transaction-classifier"]
    assert sorted(model["name"] for model in listing) == available_packages()
    embeddings = next(model for model in listing if model["name"] == "embeddings")
    assert embeddings == {
        "name": "embeddings",
        "model": "all-minilm-l6-v2",
        "task": "feature-extraction",
        "version": "1.0.0",
        "route": "/models/embeddings/predict",
        "example": {"texts": ["STARBUCKS COFFEE", "COSTA COFFEE", "SHELL OIL"]},
    }


def test_each_packages_route_reaches_its_own_model(server):
    classified = requests.post(
        f"{server.url}/models/transaction-classifier/predict", json={"text": "STARBUCKS STORE 10432"}, timeout=60
    )
    assert classified.status_code == 200 and classified.json()["label"] == "food"
    embedded = requests.post(
        f"{server.url}/models/embeddings/predict", json={"texts": ["STARBUCKS", "SHELL OIL"]}, timeout=60
    )
    assert embedded.status_code == 200
    body = embedded.json()
    assert (body["dims"], len(body["embeddings"]), body["model"]["name"]) == (384, 2, "all-minilm-l6-v2")
    assert predict(server, {"text": "STARBUCKS STORE 10432"}).json()["model"] == classified.json()["model"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("POST", "/models/sentiment/predict", 404), ("GET", "/models/embeddings/predict", 405), ("POST", "/models", 404)],
)
def test_other_model_routes_get_the_handlers_json_errors(server, method, path, status):
    response = requests.request(method, f"{server.url}{path}", json={"text": "STARBUCKS"}, timeout=60)
    assert response.status_code == status
    assert response.json()["error"]["request_id"] == response.headers["X-Request-Id"]


def test_models_chooses_the_packages_and_the_first_answers_predict():
    own = ServerProcess({**LOOPBACK, "MODELS": "embeddings"})
    try:
        assert [model["name"] for model in requests.get(f"{own.url}/models", timeout=60).json()["models"]] == [
            "embeddings"
        ]
        assert "embedding" in predict(own, {"text": "STARBUCKS"}).json()
        assert (
            requests.post(
                f"{own.url}/models/transaction-classifier/predict", json={"text": "x"}, timeout=60
            ).status_code
            == 404
        )
    finally:
        own.stop(signal.SIGTERM)
