"""`python -m tools.bulk INPUT OUTPUT`: score every line of a JSONL or CSV file (make bulk).

Local paths: the job runs on this machine, through the Lambda handler with the very batch events
the cloud job's Distributed Map sends it, and OUTPUT gets one JSON line per input line, in order.
s3:// URIs: the stack's bulk job runs in AWS (nothing is uploaded by this tool): it starts an
execution, shows its progress and prints a summary. docs/operating.md, "Bulk scoring", has the
formats. Exit code 0: done; 1: the cloud job failed; 2: it could not start, said in one line.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from botocore.exceptions import ClientError
from tqdm import tqdm

from tools.aws import aws_errors_as, aws_session, stack_outputs
from tools.prices import LAMBDA_GB_SECOND, LAMBDA_REQUEST, LOGS_INGESTED_GB

REPO = Path(__file__).resolve().parents[1]
CDK_JSON = REPO / "cdk.json"
# The ItemBatcher's batch size in the stack (max_batch), and the API's.
BATCH_SIZE = 64
POLL_SECONDS = 5.0
DONE = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}

# Cost model of one cloud job (us-east-1 list prices, as tools/prices.py; docs/operating.md
# shows the sums).
EXPRESS_REQUEST = 1.00 / 1e6  # one Express child execution per batch
EXPRESS_GB_SECOND = 0.00001667  # billed at 64 MB, in 100 ms steps
EXPRESS_GB = 0.0625
STANDARD_TRANSITION = 0.025 / 1000  # the parent execution: a handful of transitions per job
S3_PUT = 0.005 / 1000
S3_GET = 0.0004 / 1000
RESULT_LINE_BYTES = 250
S3_PART_BYTES = 5e6
# The state events the job logs (no data): ~5 events of ~400 bytes per batch.
LOG_BYTES_PER_BATCH = 2000
# Seconds one batch of 64 statement lines takes in the function at 2048 MB (~1.2 vCPU): measured
# by benchmarks/bulk.py on one core of a busy machine (benchmarks/results/bulk.md, load ~9 on 2
# cores), likely more than Lambda takes.
BATCH_SECONDS = 0.68
MEMORY_MB = 2048


class SetupError(Exception):
    """The job cannot start; the message is the one line the operator sees."""


@dataclass(frozen=True)
class Line:
    """One input line: its 0-based position, and the parsed object (None: not valid JSON)."""

    index: int
    value: object
    malformed: str | None = None


def cloud_cost(items: int, batch_seconds: float = BATCH_SECONDS, memory_mb: int = MEMORY_MB) -> float:
    """Dollars for a cloud job of this many lines (x86_64): Lambda, Step Functions, S3 and its logs."""
    batches = math.ceil(items / BATCH_SIZE)
    lambda_cost = batches * (LAMBDA_REQUEST + batch_seconds * memory_mb / 1024 * LAMBDA_GB_SECOND["x86_64"])
    express = batches * (EXPRESS_REQUEST + math.ceil(batch_seconds * 10) / 10 * EXPRESS_GB * EXPRESS_GB_SECOND)
    # A PUT per ~5 MB of results (a result line is ~250 bytes), and about as many ranged GETs of the input.
    s3 = (items * RESULT_LINE_BYTES / S3_PART_BYTES + 1) * (S3_PUT + S3_GET)
    logs = batches * LOG_BYTES_PER_BATCH / 1e9 * LOGS_INGESTED_GB
    return lambda_cost + express + 10 * STANDARD_TRANSITION + s3 + logs


# ---- local files ----


def read_lines(path: Path) -> Iterator[Line]:
    """JSONL (one object a line) or, for a .csv file, CSV rows with a header row."""
    with path.open(encoding="utf-8", newline="") as handle:
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(handle)
            for index, row in enumerate(reader):
                yield Line(index, row)
            return
        for index, raw in enumerate(handle):
            try:
                yield Line(index, json.loads(raw))
            except ValueError as error:
                yield Line(index, None, f"the line is not valid JSON: {error}")


def count_lines(path: Path) -> int:
    return sum(1 for _ in read_lines(path))


def run_local(source: Path, target: Path, batch_size: int = BATCH_SIZE) -> int:
    total = count_lines(source)
    handler, context = _load_handler()
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("w", encoding="utf-8") as out, tqdm(total=total, unit="line", desc="scoring") as progress:
            for batch in _batches(read_lines(source), batch_size):
                _write(out, _score(handler, context, batch))
                progress.update(len(batch))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    # Renamed only when complete: a half-written OUTPUT never looks like a finished one.
    partial.replace(target)
    return total


def _batches(lines: Iterator[Line], size: int) -> Iterator[list[Line]]:
    batch: list[Line] = []
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _score(handler, context, lines: list[Line]) -> list[dict]:
    """The results of these lines, in order: the handler's for the parsed ones (one batch event, as
    the Distributed Map sends it), an error object for each line that is not JSON."""
    items = [{"index": line.index, "value": line.value} for line in lines if line.malformed is None]
    answers = iter(handler({"Items": items, "BatchInput": {"execution": "local"}}, context) if items else [])
    return [
        next(answers)
        if line.malformed is None
        else {"id": line.index + 1, "error": {"code": "invalid_json", "message": line.malformed, "status": 400}}
        for line in lines
    ]


def _write(out, results: list[dict]) -> None:
    out.writelines(json.dumps(result, ensure_ascii=False) + "\n" for result in results)


def _load_handler():
    """The Lambda handler as the image runs it (the package in MODEL_DIR, the classifier by default),
    quiet: its log lines and metrics would interleave with the progress bar."""
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # One thread unless told otherwise: on a shared machine two threads wait on each other at every
    # barrier (10,000 lines: 18 lines/s with 2 threads at load 8 on 2 cores, ~200 with 1).
    os.environ.setdefault("TORCH_THREADS", "1")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from inference.handler import lambda_handler
    from local.lambda_context import LocalLambdaContext

    return lambda_handler, LocalLambdaContext()


# ---- S3 and the stack's job ----


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Uri:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if not bucket:
            raise SetupError(f"{uri} is not an s3://bucket/key URI")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class BulkStack:
    """Where the stack's job reads and writes (its outputs)."""

    state_machine_arn: str
    input_uri: S3Uri
    output_uri: S3Uri

    @classmethod
    def from_outputs(cls, stack: str, outputs: dict[str, str]) -> BulkStack:
        if "BulkStateMachineArn" not in outputs:
            raise SetupError(f"stack {stack} has no bulk job: deploy it with bulk_enabled=true")
        return cls(
            outputs["BulkStateMachineArn"],
            S3Uri.parse(outputs["BulkInputUri"]),
            S3Uri.parse(outputs["BulkOutputUri"]),
        )


def run_cloud(session, stack: str, source: S3Uri, target: S3Uri, overwrite: bool, poll_seconds: float) -> int:
    job = BulkStack.from_outputs(stack, stack_outputs(session, stack, SetupError))
    _check_within(source, job.input_uri, "INPUT")
    _check_within(target, job.output_uri, "OUTPUT")
    s3 = session.client("s3")
    try:
        s3.head_object(Bucket=source.bucket, Key=source.key)
    except ClientError as error:
        if error.response["Error"]["Code"] in {"404", "NoSuchKey", "403"}:
            raise SetupError(f"cannot read INPUT {source}: {error.response['Error']['Code']}") from None
        raise
    prefix = target.key if target.key.endswith("/") else target.key + "/"
    if not overwrite and s3.list_objects_v2(Bucket=target.bucket, Prefix=prefix, MaxKeys=1).get("KeyCount"):
        raise SetupError(f"OUTPUT {target} already holds results: choose another, or pass --overwrite")
    sfn = session.client("stepfunctions")
    fmt = "csv" if source.key.lower().endswith(".csv") else "jsonl"
    execution = sfn.start_execution(
        stateMachineArn=job.state_machine_arn,
        input=json.dumps({"input_key": source.key, "output_prefix": prefix, "format": fmt}),
    )["executionArn"]
    print(f"started {execution}", file=sys.stderr)
    description, counts = _follow(sfn, execution, poll_seconds)
    print(summary(description, counts, target))
    return 0 if description["status"] == "SUCCEEDED" else 1


def _follow(sfn, execution: str, poll_seconds: float) -> tuple[dict, dict]:
    """Poll until the execution ends; the bar counts the Distributed Map's processed lines."""
    counts: dict = {}
    with tqdm(unit="line", desc="scoring (cloud)") as progress:
        while True:
            description = sfn.describe_execution(executionArn=execution)
            runs = sfn.list_map_runs(executionArn=execution)["mapRuns"]
            if runs:
                counts = sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"]).get("itemCounts", counts)
                progress.total = counts.get("total") or progress.total
                progress.update(_processed(counts) - progress.n)
            if description["status"] in DONE:
                return description, counts
            time.sleep(poll_seconds)


def _processed(counts: dict) -> int:
    return sum(counts.get(state, 0) for state in ("succeeded", "failed", "timedOut", "aborted"))


def summary(description: dict, counts: dict, target: S3Uri) -> str:
    status = description["status"]
    started = description["startDate"]
    seconds = (description.get("stopDate", datetime.now(started.tzinfo)) - started).total_seconds()
    items = counts.get("total", 0)
    failed = sum(counts.get(state, 0) for state in ("failed", "timedOut", "aborted"))
    lines = [
        f"status     {status}",
        f"lines      {items:,} ({counts.get('succeeded', 0):,} scored in batches that succeeded; lines the API "
        "refuses are error objects among them)",
        f"failures   {failed:,} lines in batches that failed after their retries",
        f"duration   {seconds:,.0f} s",
        f"cost       ~${cloud_cost(items):.4f} (Lambda + Step Functions + S3 + logs, estimated)",
    ]
    output = json.loads(description.get("output") or "{}")
    manifest = output.get("ResultWriterDetails")
    if manifest:
        lines.append(f"results    s3://{manifest['Bucket']}/{manifest['Key']} lists the result files (JSON Lines)")
    else:
        lines.append(f"results    under {target}")
    if status != "SUCCEEDED":
        lines.append(f"error      {description.get('error', '?')}: {description.get('cause', '')}".rstrip(": "))
    return "\n".join(lines)


def _check_within(uri: S3Uri, allowed: S3Uri, name: str) -> None:
    if uri.bucket != allowed.bucket or not uri.key.startswith(allowed.key) or uri.key == allowed.key:
        raise SetupError(f"{name} must be under {allowed} (the job may read and write only there), not {uri}")


# ---- command line ----


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.bulk", description=__doc__.split("\n\n")[0])
    parser.add_argument("input", metavar="INPUT", help="a .jsonl or .csv file, or an s3:// URI of one")
    parser.add_argument("output", metavar="OUTPUT", help="a .jsonl file to write, or an s3:// prefix for the results")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUTPUT")
    parser.add_argument(
        "--stack", default=_default_stack(), help="the stack whose job runs s3:// jobs (default: %(default)s)"
    )
    parser.add_argument("--region", help="the stack's region (default: the AWS profile's)")
    parser.add_argument("--poll-seconds", type=float, default=POLL_SECONDS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _default_stack() -> str:
    return json.loads(CDK_JSON.read_text())["context"]["stack_name"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cloud = [uri.startswith("s3://") for uri in (args.input, args.output)]
    try:
        if cloud == [True, True]:
            return _main_cloud(args)
        if any(cloud):
            raise SetupError("INPUT and OUTPUT must both be local paths or both s3:// URIs")
        return _main_local(args)
    except SetupError as error:
        print(f"bulk: {error}", file=sys.stderr)
        return 2


def _main_local(args: argparse.Namespace) -> int:
    source, target = Path(args.input), Path(args.output)
    try:
        with source.open("rb") as handle:
            handle.read(1)
    except OSError as error:
        raise SetupError(f"cannot read INPUT {source}: {error.strerror or error}") from None
    if source.suffix.lower() == ".csv":
        with source.open(encoding="utf-8", errors="replace", newline="") as handle:
            if "text" not in (next(csv.reader(handle), None) or []):
                raise SetupError(f"INPUT {source} has no text column: its first row must name the columns")
    if target.exists() and not args.overwrite:
        raise SetupError(f"OUTPUT {target} exists: choose another, or pass --overwrite")
    if not target.parent.is_dir():
        raise SetupError(f"OUTPUT {target}: no such directory {target.parent}")
    started = time.perf_counter()
    try:
        lines = run_local(source, target)
    except UnicodeDecodeError as error:
        raise SetupError(f"cannot read INPUT {source}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    print(f"{lines:,} lines scored in {time.perf_counter() - started:.1f} s: {target}", file=sys.stderr)
    return 0


def _main_cloud(args: argparse.Namespace) -> int:
    with aws_errors_as(SetupError):
        session = aws_session(args.region)
        source, target = S3Uri.parse(args.input), S3Uri.parse(args.output)
        return run_cloud(session, args.stack, source, target, args.overwrite, args.poll_seconds)


if __name__ == "__main__":
    sys.exit(main())
