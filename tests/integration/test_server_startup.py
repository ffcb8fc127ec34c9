"""`python -m local.server` with a setting it cannot start with: exit code 2 and one line on stderr
that names the variable, never a traceback."""

import os
import socket
import subprocess
import sys

import pytest

from local.process import REPO, STARTUP_SECONDS

pytestmark = pytest.mark.slow


def start(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "local.server"],
        cwd=REPO,
        env={**os.environ, "PORT": "0", "LISTEN_HOST": "127.0.0.1", **env},
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
    )


def assert_refused_in_one_line(result: subprocess.CompletedProcess, variable: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("local.server: ") and variable in result.stderr


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PORT": "abc"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"LISTEN_HOST": "999.1.1.1"}, "LISTEN_HOST"),
        ({"REQUEST_DEADLINE_SECONDS": "0"}, "REQUEST_DEADLINE_SECONDS"),
        ({"MAX_BATCH": "0"}, "MAX_BATCH"),  # the handler's settings, checked before the model loads
        # The deployment's settings, as make passes them on (make serve CDK_ARGS=...).
        ({"CDK_ARGS": "-c max_batch=0"}, "max_batch=0 is not allowed: expected an integer in 1..1024"),
        ({"CDK_ARGS": "-c backend=onnx", "MODEL_VARIANT": "int8"}, "MODEL_BACKEND=onnx with MODEL_VARIANT=int8"),
        ({"MODEL_DIR": "/nonexistent"}, "MODEL_DIR"),
        ({"MODELS": "transaction-classifier,sentiment"}, "MODELS"),
        ({"MODELS": "embeddings", "MODEL_DIR": "model_artifacts/embeddings"}, "MODELS and MODEL_DIR"),
    ],
    ids=[
        "port-not-a-number",
        "port-out-of-range",
        "listen-host",
        "deadline",
        "max-batch",
        "cdk-args",
        "cdk-args-under-a-variable",
        "model-dir",
        "models",
        "both",
    ],
)
def test_a_bad_setting_is_refused_in_one_line_naming_it(env, variable):
    assert_refused_in_one_line(start(env), variable)


def test_a_port_in_use_is_refused_in_one_line_naming_port():
    with socket.create_server(("127.0.0.1", 0)) as holder:
        result = start({"PORT": str(holder.getsockname()[1])})
    assert_refused_in_one_line(result, "PORT")
    assert "in use" in result.stderr
