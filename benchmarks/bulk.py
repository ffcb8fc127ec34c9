"""`python -m benchmarks.bulk`: local bulk scoring against one API request per line, and what a
million lines cost in the cloud; writes benchmarks/results/bulk.md.

- bulk on every core: `python -m tools.bulk lines.jsonl out.jsonl` (one worker process per core,
  its default), the whole command timed (interpreter start and model loads included);
- bulk on one core: the same with `--workers 1`, which makes the per-core figure and the scaling;
- one request per line: the same lines POSTed one by one ({"text"}) to the local server
  (`python -m local.server`, started and warmed up beforehand: its start is not counted), each
  answer written as a JSON line, as a loop over the API would;
  the three take turns, round after round, so load from elsewhere on the machine falls on all alike;
- per batch: the handler's time for one bulk batch event of 64 lines, in-process (median), which
  prices a million lines in the cloud (tools/bulk.py's cost model) beside the API's price.
Every process runs one torch thread (TORCH_THREADS=1): one core, as Lambda grants at 2048 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import requests

from benchmarks.cost import API_GATEWAY_REST_REQUEST
from tests.tools.conftest import _serving_url
from tools.bulk import BATCH_SIZE, MEMORY_MB, cloud_cost, default_workers
from tools.prices import LAMBDA_GB_SECOND, LAMBDA_REQUEST
from training.common import read_split

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "bulk.md"
ENV = {**os.environ, "TORCH_THREADS": "1", "HF_HUB_OFFLINE": "1"}
BATCH_RUNS = 30
LINES = 10_000
ROUNDS = 1
# The bulk command's start (interpreter, torch, model: seconds) is in its time, as a user waits
# for it too; over a few thousand lines it weighs little, as over the millions bulk is for.
MILLION = 1_000_000


def lines(count: int) -> list[dict]:
    texts = [row["text"] for split in ("train", "validation", "test") for row in read_split(split)]
    return [{"id": f"tx-{i}", "text": texts[i % len(texts)]} for i in range(count)]


def time_bulk(source: Path, target: Path, workers: int) -> float:
    target.unlink(missing_ok=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "tools.bulk", str(source), str(target), "--workers", str(workers)],
        cwd=REPO,
        env=ENV,
        check=True,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


@contextmanager
def local_server(log: Path) -> Iterator[str]:
    """The local server's POST /predict URL, warmed up."""
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "local.server"],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**ENV, "LISTEN_HOST": "127.0.0.1", "PORT": "0"},
        )
    try:
        url = _serving_url(server, log) + "/predict"
        requests.post(url, json={"text": "STARBUCKS STORE 10432 SEATTLE WA"}, timeout=60).raise_for_status()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def time_one_request_per_line(url: str, values: list[dict], target: Path) -> float:
    session = requests.Session()
    started = time.perf_counter()
    with target.open("w") as out:
        for value in values:
            answer = session.post(url, json={"text": value["text"]}, timeout=60).json()
            out.write(json.dumps({"id": value["id"], **answer}) + "\n")
    return time.perf_counter() - started


def batch_seconds(values: list[dict]) -> tuple[float, float]:
    """Median seconds of the handler for one bulk batch of 64 lines, and for one single-text request."""
    code = f"""
import json, statistics, sys, time
from inference.handler import lambda_handler
from local.lambda_context import LocalLambdaContext
values = json.load(sys.stdin)
context = LocalLambdaContext()
batches, singles = [], []
for run in range({BATCH_RUNS}):
    chunk = values[run * {BATCH_SIZE}:(run + 1) * {BATCH_SIZE}]
    event = {{"Items": [{{"index": i, "value": v}} for i, v in enumerate(chunk)], "BatchInput": {{}}}}
    started = time.perf_counter()
    lambda_handler(event, context)
    batches.append(time.perf_counter() - started)
    started = time.perf_counter()
    lambda_handler({{"text": chunk[0]["text"]}}, context)
    singles.append(time.perf_counter() - started)
print(json.dumps([statistics.median(batches), statistics.median(singles)]))
"""
    env = {**ENV, "LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        input=json.dumps(values),
        capture_output=True,
        text=True,
        check=True,
    )
    batch, single = json.loads(done.stdout.strip().splitlines()[-1])
    return batch, single


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bulk", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=LINES, help="lines per run (default: %(default)s)")
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, help="runs of each way, taking turns (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    cores = default_workers()
    values = lines(max(args.lines, BATCH_RUNS * BATCH_SIZE))[: args.lines]
    runs: dict[str, list[float]] = {"all": [], "one": [], "single": []}
    with tempfile.TemporaryDirectory() as work:
        source, all_out, one_out, single_out = (
            Path(work) / name for name in ("lines.jsonl", "all.jsonl", "one.jsonl", "single.jsonl")
        )
        source.write_text("".join(json.dumps(value) + "\n" for value in values))
        with local_server(Path(work) / "server.log") as url:
            for _ in range(args.rounds):
                runs["all"].append(time_bulk(source, all_out, cores))
                runs["one"].append(time_bulk(source, one_out, 1))
                runs["single"].append(time_one_request_per_line(url, values, single_out))
        all_lines, one_lines, single_lines = (
            [json.loads(line) for line in path.read_text().splitlines()] for path in (all_out, one_out, single_out)
        )
    all_s, one_s, single_s = (statistics.median(runs[way]) for way in ("all", "one", "single"))
    same = sum(a["label"] == b["label"] for a, b in zip(all_lines, single_lines, strict=True))
    in_order = all_lines == one_lines
    batch_s, request_s = batch_seconds(lines(BATCH_RUNS * BATCH_SIZE))
    gb_second = MEMORY_MB / 1024 * LAMBDA_GB_SECOND["x86_64"]
    per_request = API_GATEWAY_REST_REQUEST + LAMBDA_REQUEST + max(request_s, 0.001) * gb_second
    load = os.getloadavg()[0]
    n = args.lines

    def row(way: str, seconds: float, workers: int) -> str:
        return (
            f"| {way} | {seconds:.1f} s | {n / seconds:.0f} | {n / seconds / workers:.0f} | {single_s / seconds:.1f}x |"
        )

    def times(way: str) -> str:
        return ", ".join(f"{t:.1f}" for t in runs[way])

    report = f"""# Bulk scoring, measured

`python -m benchmarks.bulk --lines {n} --rounds {args.rounds}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC,
{os.cpu_count()} cores, load average {load:.1f} (a machine shared with other work), TORCH_THREADS=1 in every process.

Median of {args.rounds} round(s), the three ways taking turns (bulk on {cores} cores: {times("all")} s; bulk on one
core: {times("one")} s; one request per line: {times("single")} s). Each `python -m tools.bulk` run is the whole
command: interpreter start, a model load per worker, batches of {BATCH_SIZE}.

| way | {n:,} lines | lines/s | lines/s per core | vs one request per line |
|---|---:|---:|---:|---:|
{row(f"`python -m tools.bulk` (default: {cores} workers, one per core)", all_s, cores)}
{row("`python -m tools.bulk --workers 1`", one_s, 1)}
{row("one POST /predict per line to the running local server", single_s, 1)}

Every core against one: **{one_s / all_s:.2f}x** on {cores} cores. Same label as the API's on {same:,} of {n:,}
lines; the {cores}-worker output is {"byte for byte" if in_order else "NOT"} the one-worker output (input order kept).

## Per batch, and a million lines in the cloud

Handler time for one bulk batch of {BATCH_SIZE} lines: **{batch_s * 1000:.0f} ms** (median of {BATCH_RUNS});
one single-text request: {request_s * 1000:.1f} ms. At {MEMORY_MB} MB (~1.2 vCPU; assumed as fast as one core here):

| a million lines | cost |
|---|---:|
| bulk job: Lambda ({MILLION // BATCH_SIZE:,} batches × {batch_s:.2f} s × 2 GB) + Step Functions (an Express child \
execution per batch) + S3 + logs | ${cloud_cost(MILLION, line_seconds=batch_s / BATCH_SIZE):.2f} |
| through the API, one request per line: API Gateway $3.50 + Lambda | ${MILLION * per_request:.2f} |
"""
    RESULTS.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
