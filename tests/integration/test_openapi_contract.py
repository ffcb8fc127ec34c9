"""The published contract tested from outside: schemathesis generates requests from
docs/openapi.json (valid ones and ones that break it), sends them to the local server on
127.0.0.1 and runs every one of its checks on the answers (no 5xx, only documented statuses and
content types, bodies that fit their schemas, valid data accepted, invalid data refused)."""

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from local.process import REPO, ServerProcess

pytestmark = pytest.mark.slow
CONFIG = Path(__file__).with_name("schemathesis.toml")
# Bounded: examples per phase for the one operation, and a fixed seed so a failure reproduces.
MAX_EXAMPLES = 150
SEED = 20261129


def test_schemathesis_finds_no_failure_against_the_local_server(tmp_path):
    server = ServerProcess({"LISTEN_HOST": "127.0.0.1"})
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(CONFIG),
                "run",
                str(REPO / "docs" / "openapi.json"),
                "--url",
                server.url,
                "--checks",
                "all",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                str(SEED),
                "--generation-database",
                "none",
                "--report-dir",
                str(tmp_path),
            ],  # fmt: skip
            capture_output=True,
            text=True,
            timeout=900,
            cwd=tmp_path,
        )
    finally:
        server.stop(signal.SIGTERM)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    (generated, passed) = map(int, re.search(r"(\d+) generated, (\d+) passed", run.stdout).groups())
    assert generated == passed >= 100, run.stdout[-2000:]
