"""Fixtures for the operator tools: a moto AWS account, the real local server, and a gateway in
front of it that checks API keys and SigV4 signatures the way API Gateway does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tests.tools.gateway import Gateway
from tools.preflight import REPO

REGION = "us-east-1"
STARTUP_SECONDS = 180


@pytest.fixture
def offline_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS configuration from this machine: no profile, files, instance metadata or region."""
    for name in list(os.environ):
        if name.startswith("AWS_") and name != "AWS_CA_BUNDLE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def aws(offline_aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    """A moto account in REGION, with moto's fake credentials; the session the tools will see."""
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        yield boto3.Session(region_name=REGION)


@pytest.fixture(scope="session")
def local_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m local.server` with the real model on a free port; its POST /predict URL."""
    log = tmp_path_factory.mktemp("local-server") / "stderr.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "local.server"],
            cwd=REPO,
            env={**os.environ, "LISTEN_HOST": "127.0.0.1", "PORT": "0"},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        yield _serving_url(server, log) + "/predict"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _serving_url(server: subprocess.Popen, log: Path) -> str:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        serving = re.search(r"Serving on (http://127\.0\.0\.1:\d+)", log.read_text())
        if serving:
            return serving.group(1)
        if server.poll() is not None:
            raise AssertionError(f"the local server exited during start-up:\n{log.read_text()}")
        time.sleep(0.2)
    raise AssertionError(f"the local server did not start in {STARTUP_SECONDS} s")


@pytest.fixture(scope="session")
def served_model_card() -> Path:
    """The card of the model the local server loads (it reads MODEL_DIR as inference/settings.py does)."""
    return Path(os.environ.get("MODEL_DIR", REPO / "model_artifacts" / "transaction-classifier")) / "model_card.json"


@pytest.fixture
def gateway(local_server_url: str, aws: boto3.Session):
    """gateway(api_key=..., credentials=...) -> a running Gateway in front of the local server."""
    started: list[Gateway] = []

    def start(**checks) -> Gateway:
        server = Gateway(local_server_url, aws.region_name, **checks)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()
