"""`python -m local.server` as a child process, for the integration tests and the load test:
started on a free port, its URL read from the line it prints once it serves, its output
collected by threads (so its pipes never fill up and block it)."""

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 180


class ServerProcess:
    """The server process, its URL, and the lines it writes. `env` is added to this process's
    environment (a None value removes a variable); PORT is 0, a free port, unless given."""

    def __init__(self, env: Mapping[str, str | None] | None = None) -> None:
        environment = {**os.environ, "PORT": "0", **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.server"],
            cwd=REPO,
            env={name: value for name, value in environment.items() if value is not None},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: list[str] = []
        self.stderr: queue.Queue[str] = queue.Queue()
        self._readers = [
            threading.Thread(target=self._collect, args=(self.process.stdout, self.stdout.append), daemon=True),
            threading.Thread(target=self._collect, args=(self.process.stderr, self.stderr.put), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self.url = self._wait_until_serving()

    @staticmethod
    def _collect(stream, sink) -> None:
        for line in stream:
            sink(line)

    def _wait_until_serving(self) -> str:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            try:
                line = self.stderr.get(timeout=1)
            except queue.Empty:
                if self.process.poll() is not None:
                    raise RuntimeError("the server exited during start-up") from None
                continue
            serving = re.search(r"Serving on (http://\S+:\d+)", line)
            if serving:
                return serving.group(1)
        self.process.kill()
        raise RuntimeError("the server did not start")

    def request_log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout if line.startswith("{") and '"message":"request"' in line]

    def stop(self, signum: int) -> int:
        """Send the signal; return the exit code once the process and its output have ended."""
        self.process.send_signal(signum)
        code = self.process.wait(timeout=60)
        for reader in self._readers:
            reader.join(timeout=10)
        return code
