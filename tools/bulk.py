"""`python -m tools.bulk INPUT OUTPUT`: score every line of a JSONL or CSV file (make bulk).

Local paths: the job runs on this machine, through the Lambda handler with the very batch events
the cloud job's Distributed Map sends it, one process per core (each on one torch thread; the
batches are shared out and their results written back in input order), and OUTPUT gets one JSON
line per input line, in order. s3:// URIs: the stack's bulk job runs in AWS (nothing is uploaded
by this tool): it starts an execution, shows its progress and prints a summary, priced as
deployed (the job's batch size, its function's memory and architecture). docs/operating.md,
"Bulk scoring", has the formats. Exit code 0: done; 1: the cloud job failed; 2: it could not
start, said in one line.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import json
import math
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from tqdm import tqdm

from deployment.catalog import PACKAGES_DIR, available_packages
from inference.bulk import NoTextInput, TextInput
from inference.package import ModelPackage, PackageError
from inference.settings import LAMBDA_MB_PER_VCPU, REPO_MODEL_DIR, Settings
from tools.aws import aws_errors_as, aws_session, stack_outputs
from tools.prices import LAMBDA_GB_SECOND, LAMBDA_REQUEST, LOGS_INGESTED_GB

REPO = Path(__file__).resolve().parents[1]
CDK_JSON = REPO / "cdk.json"
# The local batch size: the API's default max_batch, as the stack's ItemBatcher batches by default.
BATCH_SIZE = 64
# Batches handed to the workers ahead of the one written next: enough to keep every worker busy
# while the results are written in order, few enough that a file of millions of lines is never
# all in memory.
BATCHES_AHEAD_PER_WORKER = 4
# What the file's name says it holds; anything else (a .txt of plain lines) is refused.
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
CSV_SUFFIX = ".csv"
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
# Seconds one batch of 64 statement lines takes in the function with a whole core (the classifier;
# benchmarks/results/bulk.md measures it on a busy machine: likely more than Lambda takes). Below
# LAMBDA_MB_PER_VCPU of memory, Lambda grants a share of a core and a batch takes that much longer;
# above it, the function's one torch thread per vCPU is assumed no faster.
BATCH_SECONDS = 0.68
LINE_SECONDS = BATCH_SECONDS / 64
# The stack's defaults: what a job is priced at when the deployed function cannot be read.
MEMORY_MB = 2048
ARCHITECTURE = "x86_64"


class SetupError(Exception):
    """The job cannot start; the message is the one line the operator sees."""


@dataclass(frozen=True)
class Line:
    """One input line: its 0-based position, and the parsed object (None: not valid JSON)."""

    index: int
    value: object
    malformed: str | None = None


@dataclass(frozen=True)
class DeployedJob:
    """What a cloud job's price depends on, as deployed: the ItemBatcher's lines per batch and the
    memory and architecture of the function it invokes."""

    batch_size: int = BATCH_SIZE
    memory_mb: int = MEMORY_MB
    architecture: str = ARCHITECTURE

    def __str__(self) -> str:
        return f"{self.batch_size} lines a batch, {self.memory_mb} MB, {self.architecture}"


def cloud_cost(items: int, job: DeployedJob | None = None, line_seconds: float = LINE_SECONDS) -> float:
    """Dollars for a cloud job of this many lines: Lambda, Step Functions, S3 and its logs."""
    job = job or DeployedJob()
    batches = math.ceil(items / job.batch_size)
    batch_seconds = min(items, job.batch_size) * line_seconds * max(1.0, LAMBDA_MB_PER_VCPU / job.memory_mb)
    gb_second = LAMBDA_GB_SECOND[job.architecture]
    lambda_cost = batches * (LAMBDA_REQUEST + batch_seconds * job.memory_mb / 1024 * gb_second)
    express = batches * (EXPRESS_REQUEST + math.ceil(batch_seconds * 10) / 10 * EXPRESS_GB * EXPRESS_GB_SECOND)
    # A PUT per ~5 MB of results (a result line is ~250 bytes), and about as many ranged GETs of the input.
    s3 = (items * RESULT_LINE_BYTES / S3_PART_BYTES + 1) * (S3_PUT + S3_GET)
    logs = batches * LOG_BYTES_PER_BATCH / 1e9 * LOGS_INGESTED_GB
    return lambda_cost + express + 10 * STANDARD_TRANSITION + s3 + logs


# ---- the package ----


def package_dir(model: str | None) -> Path:
    """The package MODEL names: a folder of model_artifacts/ by name, or a path to a package
    folder (default: MODEL_DIR, else the demo classifier). SetupError if there is none."""
    if not model:
        return Path(os.environ.get("MODEL_DIR") or REPO_MODEL_DIR)
    path = Path(model)
    if path.is_dir() or os.sep in model or "/" in model:
        if not path.is_dir():
            raise SetupError(f"MODEL={model}: no such folder")
        return path
    if (PACKAGES_DIR / model / "model_card.json").is_file():
        return PACKAGES_DIR / model
    names = available_packages()
    close = difflib.get_close_matches(model, names, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    there = ", ".join(names) or "none yet: `make model` builds the demo packages"
    raise SetupError(f"MODEL={model}: no package of that name in model_artifacts/ ({hint}packages there: {there})")


def check_scorable(directory: Path) -> ModelPackage:
    """The package, read as the runtime reads it; SetupError (one line) if it cannot be served or
    takes no text (inference/bulk.py): a job that could only answer errors does not start."""
    from inference.tasks import request_model  # imports a custom package's predictor.py, and torch

    try:
        package = ModelPackage.read(directory)
        # The default limits: they bound the fields, and what is asked here is only which fields there are.
        TextInput.of(package, request_model(package, Settings().limits))
    except PackageError as error:
        raise SetupError(str(error)) from None
    except NoTextInput as error:
        raise SetupError(f"{error}: choose a package that takes text with MODEL=<name or folder>") from None
    return package


# ---- local files ----


def input_format(name: str) -> str:
    """The format, "csv" or "jsonl", by the file's name; SetupError for any other name."""
    lowered = name.lower()
    if lowered.endswith(CSV_SUFFIX):
        return "csv"
    if lowered.endswith(JSONL_SUFFIXES):
        return "jsonl"
    raise SetupError(
        f"INPUT {name} is neither JSONL ({', '.join(JSONL_SUFFIXES)}: one JSON object a line) nor CSV ({CSV_SUFFIX}, "
        'with a header row): write each line as {"text": "..."}'
    )


def read_lines(path: Path) -> Iterator[Line]:
    """JSONL (one object a line) or, for a .csv file, CSV rows with a header row."""
    with path.open(encoding="utf-8", newline="") as handle:
        if input_format(str(path)) == "csv":
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
    """How many lines INPUT has; SetupError if it is JSONL and not one of them is a JSON object (a
    file of plain lines would otherwise be scored as all errors)."""
    total = objects = 0
    for line in read_lines(path):
        total += 1
        objects += isinstance(line.value, dict)
    if total and not objects:
        raise SetupError(
            f'INPUT {path} is not JSONL: none of its lines is a JSON object; write each as {{"text": "..."}}'
        )
    return total


def default_workers() -> int:
    """One per core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_local(
    source: Path, target: Path, model_dir: Path, workers: int = 1, batch_size: int = BATCH_SIZE
) -> tuple[int, int]:
    """Scores INPUT into OUTPUT; (lines, lines answered with an error object)."""
    total = count_lines(source)
    workers = max(1, min(workers, math.ceil(total / batch_size)))
    partial = target.with_name(f".{target.name}.partial")
    errors = 0
    try:
        with partial.open("w", encoding="utf-8") as out, tqdm(total=total, unit="line", desc="scoring") as progress:
            for results in _scored(_batches(read_lines(source), batch_size), model_dir, workers):
                _write(out, results)
                errors += sum("error" in result for result in results)
                progress.update(len(results))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    # Renamed only when complete: a half-written OUTPUT never looks like a finished one.
    partial.replace(target)
    return total, errors


def _batches(lines: Iterator[Line], size: int) -> Iterator[list[Line]]:
    batch: list[Line] = []
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _scored(batches: Iterator[list[Line]], model_dir: Path, workers: int) -> Iterator[list[dict]]:
    """Each batch's results, in the batches' order: here, or shared out to `workers` processes."""
    if workers == 1:
        function = _function(model_dir)
        for batch in batches:
            yield _score(function, batch)
        return
    # spawn, not fork: each worker starts clean and loads torch itself (a forked torch can hang).
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(str(model_dir),),
    )
    ahead: deque[Future[list[dict]]] = deque()
    try:
        for batch in batches:
            ahead.append(pool.submit(_score_in_worker, batch))
            if len(ahead) >= workers * BATCHES_AHEAD_PER_WORKER:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _score(function: Any, lines: list[Line]) -> list[dict]:
    """The results of these lines, in order: the handler's for the parsed ones (one batch event, as
    the Distributed Map sends it), an error object for each line that is not JSON."""
    items = [{"index": line.index, "value": line.value} for line in lines if line.malformed is None]
    answers = iter(
        function.handler({"Items": items, "BatchInput": {"execution": "local"}}, _context()) if items else []
    )
    return [
        next(answers)
        if line.malformed is None
        else {"id": line.index + 1, "error": {"code": "invalid_json", "message": line.malformed, "status": 400}}
        for line in lines
    ]


def _write(out, results: list[dict]) -> None:
    out.writelines(json.dumps(result, ensure_ascii=False) + "\n" for result in results)


def _worker_env(model_dir: Path) -> dict[str, str]:
    """The runtime's settings for scoring here: the package, and one torch thread per process
    unless TORCH_THREADS says otherwise (the processes are what uses the cores)."""
    return {**os.environ, "MODEL_DIR": str(model_dir), "TORCH_THREADS": os.environ.get("TORCH_THREADS") or "1"}


# The Lambda function of each package this process has loaded (one per worker process).
_FUNCTIONS: dict[Path, Any] = {}


def _function(model_dir: Path) -> Any:
    """The package behind the Lambda handler's interface, as the image runs it, quiet: its log lines
    and metrics would interleave with the progress bar."""
    key = model_dir.resolve()
    if key not in _FUNCTIONS:
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        from inference.function import Function
        from inference.runtime import Runtime

        _FUNCTIONS[key] = Function(Runtime.load(Settings.from_env(_worker_env(key))))
    return _FUNCTIONS[key]


def _context() -> Any:
    from local.lambda_context import LocalLambdaContext

    return LocalLambdaContext()


# A worker process's package, or why it could not be loaded (said with its first batch's result).
_WORKER_PACKAGE: list[Path | PackageError] = []


def _start_worker(model_dir: str) -> None:
    """A worker process's start: its package loaded once, before its first batch."""
    try:
        _function(Path(model_dir))
        _WORKER_PACKAGE.append(Path(model_dir))
    except PackageError as error:
        _WORKER_PACKAGE.append(error)


def _score_in_worker(lines: list[Line]) -> list[dict]:
    (package,) = _WORKER_PACKAGE
    if isinstance(package, PackageError):
        raise package
    return _score(_function(package), lines)


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
    fmt = input_format(source.key)
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
    deployed = deployed_job(session, job.state_machine_arn)
    execution = sfn.start_execution(
        stateMachineArn=job.state_machine_arn,
        input=json.dumps({"input_key": source.key, "output_prefix": prefix, "format": fmt}),
    )["executionArn"]
    print(f"started {execution}", file=sys.stderr)
    description, counts = _follow(sfn, execution, poll_seconds)
    print(summary(description, counts, target, deployed))
    return 0 if description["status"] == "SUCCEEDED" else 1


def deployed_job(session, state_machine_arn: str) -> DeployedJob | str:
    """The deployed job's batch size (its map's ItemBatcher) and the memory and architecture of the
    function its batches invoke; or, if they cannot be read, why (the job is then priced at the
    stack's defaults, and the summary says so)."""
    try:
        definition = session.client("stepfunctions").describe_state_machine(stateMachineArn=state_machine_arn)
        batch_size, function_arn = batches_of(json.loads(definition["definition"]))
        function = session.client("lambda").get_function_configuration(FunctionName=function_arn)
    except ClientError as error:
        return f"{error.response['Error']['Code']} reading the job's state machine and function"
    except (KeyError, TypeError, ValueError) as error:
        return f"the state machine is not the stack's bulk job ({type(error).__name__}: {error})"
    return DeployedJob(batch_size, function["MemorySize"], function.get("Architectures", [ARCHITECTURE])[0])


def batches_of(definition: dict) -> tuple[int, str]:
    """(lines a batch, the function or alias each batch invokes) of the bulk job's state machine
    definition (infra/constructs/bulk_job.py: a map per input format, the same in both)."""
    scoring = [state for state in definition["States"].values() if state["Type"] == "Map"]
    if not scoring:
        raise ValueError("no Map state")
    (task,) = scoring[0]["ItemProcessor"]["States"].values()
    return scoring[0]["ItemBatcher"]["MaxItemsPerBatch"], task["Resource"]


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


def summary(description: dict, counts: dict, target: S3Uri, deployed: DeployedJob | str) -> str:
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
        f"cost       ~${cloud_cost(items, deployed if isinstance(deployed, DeployedJob) else None):.4f} "
        "(Lambda + Step Functions + S3 + logs, estimated, "
        + (f"as deployed: {deployed})" if isinstance(deployed, DeployedJob) else f"at {DeployedJob()}: {deployed})"),
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
        "--model",
        help="local files: the package to score with, a folder name of model_artifacts/ or a path to a package "
        "(default: MODEL_DIR, else the demo classifier); a cloud job scores with the stack's first model",
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        default=default_workers(),
        help="local files: processes scoring at once, each on one torch thread (default: one per core, %(default)s)",
    )
    parser.add_argument(
        "--stack", default=_default_stack(), help="the stack whose job runs s3:// jobs (default: %(default)s)"
    )
    parser.add_argument("--region", help="the stack's region (default: the AWS profile's)")
    parser.add_argument("--poll-seconds", type=float, default=POLL_SECONDS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return int(value)


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
    model_dir = package_dir(args.model)
    try:
        with source.open("rb") as handle:
            handle.read(1)
    except OSError as error:
        raise SetupError(f"cannot read INPUT {source}: {error.strerror or error}") from None
    if input_format(str(source)) == "csv":
        with source.open(encoding="utf-8", errors="replace", newline="") as handle:
            if "text" not in (next(csv.reader(handle), None) or []):
                raise SetupError(f"INPUT {source} has no text column: its first row must name the columns")
    if target.exists() and not args.overwrite:
        raise SetupError(f"OUTPUT {target} exists: choose another, or pass --overwrite")
    if not target.parent.is_dir():
        raise SetupError(f"OUTPUT {target}: no such directory {target.parent}")
    package = check_scorable(model_dir)
    started = time.perf_counter()
    try:
        lines, errors = run_local(source, target, model_dir, args.workers)
    except UnicodeDecodeError as error:
        raise SetupError(f"cannot read INPUT {source}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except PackageError as error:  # its graph, or its answer to its own example, when loaded to score
        raise SetupError(str(error)) from None
    seconds = time.perf_counter() - started
    refused = f", {errors:,} of them error objects" if errors else ""
    print(
        f"{lines:,} lines scored by {package.directory.name} in {seconds:.1f} s ({lines / seconds:,.0f} lines/s, "
        f"{min(args.workers, max(1, math.ceil(lines / BATCH_SIZE)))} workers){refused}: {target}",
        file=sys.stderr,
    )
    return 0


def _main_cloud(args: argparse.Namespace) -> int:
    if args.model:
        raise SetupError("--model (MODEL=) is for local files: a cloud job scores with the stack's first model")
    with aws_errors_as(SetupError):
        session = aws_session(args.region)
        source, target = S3Uri.parse(args.input), S3Uri.parse(args.output)
        return run_cloud(session, args.stack, source, target, args.overwrite, args.poll_seconds)


if __name__ == "__main__":
    sys.exit(main())
