"""The handler under awslambdaric, the runtime interface client inside AWS's Python base images,
against a small Runtime API on 127.0.0.1: the Dockerfile's CMD handler string, the init, the JSON
marshalling and the error reporting are the ones Lambda runs. With AWS_LAMBDA_INITIALIZATION_TYPE
=snap-start, the client runs the SnapStart hooks around a restore too, as Lambda does."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from deployment.settings import read_settings
from infra.constructs.model_function import LIBRARY_ENVIRONMENT, runtime_environment
from tests.infrastructure.synth import CDK_CONTEXT, REPO_ROOT
from tests.infrastructure.test_dockerfile import instructions
from tests.lambda_events import TRANSACTIONS, http_answer, http_v2_event, sam_rest_event

pytestmark = pytest.mark.slow

RUNTIME_API = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:classifier"
WAIT_SECONDS = 120


@dataclass
class RuntimeApi:
    """Lambda's Runtime API, as far as a runtime client uses it: events out, results in."""

    events: queue.Queue = field(default_factory=queue.Queue)
    # (path, error type header, JSON body) of every POST, and the paths of every GET, in order
    calls: list[tuple[str, str | None, Any]] = field(default_factory=list)
    answered: threading.Condition = field(default_factory=threading.Condition)

    def invoke(self, payload: bytes) -> str:
        request_id = str(uuid.uuid4())
        self.events.put((request_id, payload))
        return request_id

    def wait_for(self, predicate, what: str) -> None:
        with self.answered:
            if not self.answered.wait_for(lambda: predicate(self.calls), timeout=WAIT_SECONDS):
                pytest.fail(f"no {what} in {WAIT_SECONDS} s; the Runtime API saw {self.calls}")

    def result(self, request_id: str) -> tuple[str, str | None, Any]:
        """(response|error, error type, body) that the client posted for the invocation."""
        done = [call for call in self.calls if call[0].startswith(f"{RUNTIME_API}/invocation/{request_id}/")]
        ((path, error_type, body),) = done
        return path.rsplit("/", 1)[1], error_type, body

    def serve(self) -> ThreadingHTTPServer:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                api.record(self.path, None, None)
                if self.path == f"{RUNTIME_API}/invocation/next":
                    request_id, payload = api.events.get()
                    deadline = int((time.time() + 30) * 1000)
                    headers = {
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline),
                        "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                        "Content-Type": "application/json",
                    }
                    self.answer(200, payload, headers)
                elif self.path == f"{RUNTIME_API}/restore/next":
                    self.answer(200, b"", {})
                else:
                    self.answer(404, b"", {})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                api.record(
                    self.path, self.headers.get("Lambda-Runtime-Function-Error-Type"), json.loads(body or b"null")
                )
                self.answer(202, b"", {})

            def answer(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:  # the calls are recorded instead
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def record(self, path: str, error_type: str | None, body: Any) -> None:
        with self.answered:
            self.calls.append((path, error_type, body))
            self.answered.notify_all()


def cmd_handler() -> str:
    """The handler string of the Dockerfile's CMD, which Lambda passes to awslambdaric."""
    (cmd,) = instructions("CMD")
    (handler,) = json.loads(cmd)
    return handler


def function_environment(**overrides: str) -> dict[str, str]:
    """What Lambda gives the function: the stack's variables for cdk.json's configuration (the
    model from this checkout) and Lambda's own."""
    config = read_settings(CDK_CONTEXT)
    return {
        "PATH": os.environ["PATH"],
        **runtime_environment(config, "transaction-classifier"),
        **LIBRARY_ENVIRONMENT,
        "MODEL_DIR": str(REPO_ROOT / "model_artifacts" / "transaction-classifier"),
        "AWS_LAMBDA_FUNCTION_NAME": "classifier",
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/classifier",
        "AWS_LAMBDA_LOG_STREAM_NAME": "stream",
        "LAMBDA_TASK_ROOT": str(REPO_ROOT / "lambda_image"),
        # The image's task root, where `inference` is, is on the path as in the base image.
        "PYTHONPATH": str(REPO_ROOT / "lambda_image"),
        **overrides,
    }


@pytest.fixture
def start(tmp_path):
    """start(**env overrides) -> (RuntimeApi, process): awslambdaric running the CMD handler."""
    started: list[tuple[ThreadingHTTPServer, subprocess.Popen]] = []

    def run(**overrides: str) -> tuple[RuntimeApi, subprocess.Popen]:
        api = RuntimeApi()
        server = api.serve()
        env = function_environment(AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}", **overrides)
        process = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", cmd_handler()],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append((server, process))
        return api, process

    yield run
    for server, process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        server.shutdown()


def logs_of(process: subprocess.Popen) -> list[str]:
    """The process's output once it has stopped (the test kills it after the last answer)."""
    if process.poll() is None:
        process.kill()
    return process.communicate(timeout=30)[0].splitlines()


def test_the_runtime_client_serves_sam_events_a_batch_and_a_warmup(start) -> None:
    api, process = start()
    body = json.dumps({"text": TRANSACTIONS[0]})
    rest = api.invoke(json.dumps(sam_rest_event(body)).encode())
    http = api.invoke(json.dumps(http_v2_event(body)).encode())
    batch = api.invoke(json.dumps({"texts": TRANSACTIONS, "top_k": 1}).encode())
    warmup = api.invoke(b'{"warmup": true}')
    refused = api.invoke(json.dumps({"texts": []}).encode())
    api.wait_for(lambda calls: sum(path.endswith("/response") for path, _, _ in calls) == 5, "five answers")

    for request_id in (rest, http):
        outcome, _, response = api.result(request_id)
        status, answer = http_answer(response)
        assert (outcome, status, answer["label"]) == ("response", 200, "food")
        assert response["headers"]["X-Request-Id"] == request_id
    outcome, _, answer = api.result(batch)
    assert outcome == "response"
    assert [prediction["label"] for prediction in answer["predictions"]][0] == "food"
    assert len(answer["predictions"]) == len(TRANSACTIONS)
    assert api.result(warmup) == ("response", None, {"warm": True})
    outcome, _, answer = api.result(refused)
    assert (outcome, answer["error"]["status"], answer["error"]["request_id"]) == ("response", 400, refused)
    request_lines = [json.loads(line) for line in logs_of(process) if '"message":"request"' in line]
    assert [line["function_request_id"] for line in request_lines] == [rest, http, batch, refused]


def test_an_event_that_is_not_json_is_reported_as_the_invocations_error(start) -> None:
    api, process = start()
    broken = api.invoke(b'{"text": ')
    after = api.invoke(b'{"warmup": true}')
    api.wait_for(lambda calls: any(path.endswith(f"{after}/response") for path, _, _ in calls), "answer")
    outcome, _, error = api.result(broken)
    assert (outcome, error["errorType"]) == ("error", "Runtime.UnmarshalError")
    assert api.result(after) == ("response", None, {"warm": True})  # the environment lives on
    logs_of(process)


def test_a_bad_setting_is_reported_as_an_init_error_and_stops_the_environment(start) -> None:
    api, process = start(MODEL_VARIENT="int8")
    assert process.wait(timeout=WAIT_SECONDS) == 1
    ((path, error_type, error),) = [call for call in api.calls if call[0] != f"{RUNTIME_API}/invocation/next"]
    assert (path, error_type) == (f"{RUNTIME_API}/init/error", "ValidationError")
    assert "MODEL_VARIENT is not a setting of the runtime (did you mean MODEL_VARIANT?)" in error["errorMessage"]
    logs_of(process)


def test_under_snapstart_the_hooks_run_around_the_restore_before_the_first_event(start) -> None:
    api, process = start(AWS_LAMBDA_INITIALIZATION_TYPE="snap-start")
    request_id = api.invoke(b'{"warmup": true}')
    api.wait_for(lambda calls: any(path.endswith(f"{request_id}/response") for path, _, _ in calls), "answer")
    assert [path for path, _, _ in api.calls][:2] == [f"{RUNTIME_API}/restore/next", f"{RUNTIME_API}/invocation/next"]
    logs = logs_of(process)
    messages = [json.loads(line).get("message") for line in logs if line.startswith("{")]
    assert messages.index("snapshot warm-up") < messages.index("restored from snapshot")
    metrics = [json.loads(line) for line in logs if line.startswith('{"_aws"')]
    assert [record["Restores"] for record in metrics if "Restores" in record] == [[1.0]]
