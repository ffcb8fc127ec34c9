"""`python -m loadtest.run`: a bounded load test of the local server (`make load`).

1. Asks the model in-process for each sample text's label and score: the expected answers.
2. Starts `python -m local.server` on a free port of 127.0.0.1.
3. Runs loadtest/locustfile.py headless: a fixed number of users for a fixed time.
4. Prints the requests, failures (errors and wrong answers), throughput and latency, and exits
   non-zero on any failure.

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
    seconds: int
    requests: int
    failures: int
    requests_per_second: float
    median_ms: float
    p95_ms: float
    requests_by_name: dict[str, int]
    failure_messages: list[str]

    @property
    def ok(self) -> bool:
        return self.requests > 0 and self.failures == 0

    def report(self) -> str:
        kinds = ", ".join(f"{name} {count}" for name, count in sorted(self.requests_by_name.items()))
        lines = [
            f"Load test of the local server: {self.users} users for {self.seconds} s (one invocation at a time)",
            f"requests:   {self.requests} ({kinds})",
            f"failures:   {self.failures} (errors and wrong answers)",
            f"throughput: {self.requests_per_second:.1f} requests/s",
            f"latency:    median {self.median_ms:.0f} ms, p95 {self.p95_ms:.0f} ms",
        ]
        return "\n".join(lines + [f"  {message}" for message in self.failure_messages])


def expected_answers(texts: list[str]) -> dict[str, list]:
    """{text: [label, score]}, from the model in model_artifacts/ loaded in this process."""
    sys.path.insert(0, str(REPO / "lambda_image"))
    from inference.model import TextClassifier
    from inference.settings import Settings

    settings = Settings.from_env()
    classifier = TextClassifier(settings.model_dir, settings.resolved_torch_threads)
    return {text: [p.label, p.score] for text, p in zip(texts, classifier.predict(texts, top_k=1))}


def run_load(users: int, seconds: int) -> LoadResult:
    answers = expected_answers(SAMPLE_TEXTS)
    with tempfile.TemporaryDirectory() as workdir:
        expected_file, result_file = Path(workdir) / "expected.json", Path(workdir) / "result.json"
        expected_file.write_text(json.dumps(answers))
        server = ServerProcess({"HOST": "127.0.0.1"})
        try:
            subprocess.run(
                [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
                 "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s",
                 "--stop-timeout", "30", "--host", server.url],
                env={**os.environ, "LOAD_EXPECTED_ANSWERS": str(expected_file), "LOAD_RESULT": str(result_file)},
                cwd=REPO,
                timeout=seconds + 120,
            )  # fmt: skip
        finally:
            server.stop(signal.SIGTERM)
        if not result_file.exists():
            raise RuntimeError("locust ended without writing its result: see its output above")
        return LoadResult(users=users, seconds=seconds, **json.loads(result_file.read_text()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bounded load test of the local server.")
    parser.add_argument("--users", type=int, default=16, help="concurrent users (default 16)")
    parser.add_argument("--seconds", type=int, default=60, help="how long the users send requests (default 60)")
    args = parser.parse_args(argv)
    result = run_load(args.users, args.seconds)
    print(result.report())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
