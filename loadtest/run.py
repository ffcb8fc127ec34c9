"""`python -m loadtest.run`: a bounded load test of the local server (`make load`).

1. Asks the model in-process for each sample text's label and score: the expected answers.
2. Starts `python -m local.server` on a free port of 127.0.0.1.
3. Runs loadtest/locustfile.py headless: a fixed number of users send a fixed number of requests
   in all, with a time cap.
4. Prints the requests, failures (errors and wrong answers), throughput and latency, and exits
   non-zero on any failure, on any exception in the users' code, or if the time cap ended the
   run before every request was sent and answered.

The server runs one invocation at a time, like one Lambda execution environment, so this is the
throughput of one environment: concurrent users queue, and their latency shows the queue.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from local.process import REPO, ServerProcess

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# A broken server can fail every request differently: the report shows the first few messages.
MESSAGES_SHOWN = 10
# Card-statement lines of every kind the model knows well (its answers are checked, not assumed).
SAMPLE_TEXTS = [
    "STARBUCKS STORE 10432 SEATTLE WA",
    "MCDONALD'S F1234 CHICAGO IL",
    "WHOLE FOODS MKT #10234",
    "RYANAIR DUBLIN FR8J2K",
    "MARRIOTT HOTEL BOSTON",
    "HILTON GARDEN INN",
    "CVS/PHARMACY #04512",
    "WALGREENS #1234",
    "UBER *TRIP HELP.UBER.COM",
    "LYFT *RIDE SUN 8PM",
    "CHEVRON 0098765 SAN JOSE CA",
    "NETFLIX.COM 866-579-7172 CA",
    "SPOTIFY USA",
    "STEAM PURCHASE SEATTLE",
    "AMAZON.COM*MK1AB2CD3",
    "TARGET 00012345",
    "COMCAST CABLE COMM",
    "AT&T*BILL PAYMENT",
]


@dataclass(frozen=True)
class LoadResult:
    users: int
    planned_requests: int
    time_cap_seconds: int
    locust_exit_code: int
    requests: int  # recorded by locust, answered or not
    requests_sent: int
    failures: int
    requests_per_second: float
    median_ms: float
    p95_ms: float
    requests_by_name: dict[str, int]
    failure_messages: list[str]
    exceptions: list[str]

    @property
    def problems(self) -> list[str]:
        """What makes the run fail; empty when it passed."""
        problems = []
        if self.requests_sent < self.planned_requests:
            problems.append(
                f"the time cap of {self.time_cap_seconds} s ended the run after {self.requests_sent} "
                f"of {self.planned_requests} requests"
            )
        if self.requests != self.planned_requests:
            problems.append(f"locust recorded {self.requests} requests, not {self.planned_requests}")
        if self.failures:
            problems.append(f"{self.failures} failures (errors and wrong answers)")
        if self.exceptions:
            problems.append(f"exceptions in the users' code: {'; '.join(self.exceptions)}")
        if self.locust_exit_code != 0:
            problems.append(f"locust exited with code {self.locust_exit_code}")
        return problems

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> str:
        kinds = ", ".join(f"{name} {count}" for name, count in sorted(self.requests_by_name.items()))
        lines = [
            f"Load test of the local server: {self.planned_requests} requests from {self.users} users, "
            f"time cap {self.time_cap_seconds} s (one invocation at a time)",
            f"requests:   {self.requests} ({kinds})",
            f"failures:   {self.failures} (errors and wrong answers)",
            *[f"  {message}" for message in self.failure_messages[:MESSAGES_SHOWN]],
            f"throughput: {self.requests_per_second:.1f} requests/s",
            f"latency:    median {self.median_ms:.0f} ms, p95 {self.p95_ms:.0f} ms",
            "result:     " + ("passed" if self.ok else "FAILED: " + "; ".join(self.problems)),
        ]
        return "\n".join(lines)


def expected_answers(texts: list[str]) -> dict:
    """The model's name and version, its labels, and {text: [label, score]}, from the package in
    MODEL_DIR (the classifier by default) loaded in this process."""
    from inference.runtime import Runtime

    runtime = Runtime.load()
    answer = runtime.answer({"texts": texts, "top_k": 1}).body
    return {
        "model": answer["model"],
        "labels": list(runtime.package.labels),
        "answers": {text: [p["label"], p["score"]] for text, p in zip(texts, answer["predictions"], strict=True)},
    }


def run_locust(url: str, expected: dict, users: int, requests: int, seconds: int) -> LoadResult:
    """Runs the users of loadtest/locustfile.py against `url`, expecting the answers `expected`
    (what expected_answers returns)."""
    with tempfile.TemporaryDirectory() as workdir:
        expected_file, result_file = Path(workdir) / "expected.json", Path(workdir) / "result.json"
        expected_file.write_text(json.dumps(expected))
        locust = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
             "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s",
             # Requests in flight when the last one is sent (or the time cap hits) are waited for.
             "--stop-timeout", "30", "--host", url],
            env={**os.environ, "LOAD_EXPECTED_ANSWERS": str(expected_file), "LOAD_RESULT": str(result_file),
                 "LOAD_REQUESTS": str(requests)},
            cwd=REPO,
            timeout=seconds + 120,
        )  # fmt: skip
        if not result_file.exists():
            raise RuntimeError("locust ended without writing its result: see its output above")
        return LoadResult(
            users=users,
            planned_requests=requests,
            time_cap_seconds=seconds,
            locust_exit_code=locust.returncode,
            **json.loads(result_file.read_text()),
        )


def run_load(users: int, requests: int, seconds: int) -> LoadResult:
    """The load test of `python -m local.server`, started on a free port of 127.0.0.1."""
    expected = expected_answers(SAMPLE_TEXTS)
    server = ServerProcess({"LISTEN_HOST": "127.0.0.1"})
    try:
        return run_locust(server.url, expected, users, requests, seconds)
    finally:
        server.stop(signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bounded load test of the local server.")
    parser.add_argument("--users", type=int, default=16, help="concurrent users (default 16)")
    parser.add_argument("--requests", type=int, default=2000, help="requests sent in all (default 2000)")
    parser.add_argument(
        "--seconds", type=int, default=180, help="time cap: the run fails if it is not done by then (default 180)"
    )
    args = parser.parse_args(argv)
    result = run_load(args.users, args.requests, args.seconds)
    print(result.report())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
