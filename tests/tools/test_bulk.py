"""`python -m tools.bulk`: local files through the real handler, compared with the API's answers;
the cloud side against moto's S3, CloudFormation and Step Functions. moto runs no Distributed Map,
so the tests play it: they report the map run's progress and end the execution themselves (the
state machine itself is asserted in tests/infrastructure/test_bulk_job.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import boto3
import pytest
import requests
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.utils import utcnow
from moto.stepfunctions.models import stepfunctions_backends

from tests.tools.conftest import REGION, _serving_url
from tools import bulk
from tools.aws import NO_CREDENTIALS
from tools.preflight import REPO
from training.common import read_split

STACK = "BulkStack"
BUCKET = "bulk-bucket"
INPUT_KEY = "bulk/input/statements.jsonl"


@pytest.fixture(autouse=True)
def own_environment(handler_module, monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler imported first with the suite's settings (other tests read its INFO lines), and
    what tools/bulk.py sets in os.environ for its own process kept inside each test."""
    monkeypatch.setattr(os, "environ", os.environ.copy())


def write_jsonl(path: Path, values: Sequence[object]) -> Path:
    path.write_text("".join((value if isinstance(value, str) else json.dumps(value)) + "\n" for value in values))
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ---- local files ----


@pytest.fixture
def one_thread_api(tmp_path) -> Iterator[str]:
    """The local server's POST /predict URL, on one torch thread like tools/bulk.py (two threads on
    a shared 2-core machine run ~10x slower: docs/operating.md, "Bulk scoring")."""
    log = tmp_path / "server.log"
    env = {**os.environ, "LISTEN_HOST": "127.0.0.1", "PORT": "0", "TORCH_THREADS": "1"}
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "local.server"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )
    try:
        yield _serving_url(server, log) + "/predict"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_ten_thousand_local_lines_get_the_apis_answers_in_order(tmp_path, one_thread_api) -> None:
    texts = [row["text"] for name in ("train", "validation", "test") for row in read_split(name)][:10_000]
    # Every tenth line has no id: it is named by its line number.
    values = [{"text": text} if i % 10 == 0 else {"id": f"tx-{i}", "text": text} for i, text in enumerate(texts)]
    output = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "tools.bulk", str(write_jsonl(tmp_path / "lines.jsonl", values)), str(output)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert "10000/10000" in done.stderr and "10,000 lines scored" in done.stderr  # the progress bar, and the last line
    results = read_jsonl(output)
    assert len(results) == len(values) == 10_000
    # The API's answers to the same lines, 64 to a request, as the bulk job batches them.
    api = requests.Session()
    for start in range(0, len(texts), bulk.BATCH_SIZE):
        body = api.post(one_thread_api, json={"texts": texts[start : start + bulk.BATCH_SIZE]}, timeout=60).json()
        for offset, prediction in enumerate(body["predictions"]):
            i = start + offset
            assert results[i] == {"id": values[i].get("id", i + 1), **prediction, "model": body["model"]}, i


def test_bad_local_lines_are_error_objects_on_their_own_lines(tmp_path, invoke) -> None:
    first = {"id": "a", "text": "STARBUCKS STORE 10432 SEATTLE WA"}
    lines = [
        first,
        '{"id": "broken", "text": ',
        {"id": "b", "text": ""},
        "",
    ]
    output = tmp_path / "out.jsonl"
    assert bulk.main([str(write_jsonl(tmp_path / "in.jsonl", lines)), str(output)]) == 0
    results = read_jsonl(output)
    assert [r["id"] for r in results] == ["a", 2, "b", 4]
    assert results[0]["label"] == invoke({"text": first["text"]})["label"]
    assert [r["error"]["code"] for r in results[1:]] == ["invalid_json", "invalid_request", "invalid_json"]


def test_a_csv_file_is_read_by_its_header(tmp_path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        'date,id,text,amount\n2026-01-02,7,"UBER *TRIP, HELP.UBER.COM",12.50\n2026-01-03,,NETFLIX.COM,9.99\n'
    )
    output = tmp_path / "out.jsonl"
    assert bulk.main([str(source), str(output)]) == 0
    assert [(r["id"], r["label"]) for r in read_jsonl(output)] == [("7", "transport"), (2, "entertainment")]


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda tmp: tmp / "missing.jsonl", "cannot read INPUT"),
        (lambda tmp: tmp, "cannot read INPUT"),
        (lambda tmp: _file(tmp / "no-text.csv", "id,description\n1,x\n"), "has no text column"),
        (lambda tmp: _file(tmp / "latin1.jsonl", b'{"text": "caf\xe9"}\n'), "not UTF-8"),
    ],
)
def test_an_unreadable_input_is_one_line_and_exit_status_2(tmp_path, capsys, make_input, message) -> None:
    output = tmp_path / "out.jsonl"
    assert bulk.main([str(make_input(tmp_path)), str(output)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("bulk: ") and message in line
    assert not output.exists() and not list(tmp_path.glob(".*.partial"))


def test_an_existing_output_is_refused_unless_overwrite(tmp_path, capsys) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": "CVS/PHARMACY #04512"}])
    output = _file(tmp_path / "out.jsonl", "earlier results\n")
    assert bulk.main([str(source), str(output)]) == 2
    assert "exists" in capsys.readouterr().err and output.read_text() == "earlier results\n"
    assert bulk.main([str(source), str(output), "--overwrite"]) == 0
    assert read_jsonl(output)[0]["label"] == "health"


def test_a_local_path_with_an_s3_uri_is_refused(tmp_path, capsys) -> None:
    assert bulk.main([str(tmp_path / "in.jsonl"), f"s3://{BUCKET}/bulk/results/x/"]) == 2
    assert "must both be local paths or both s3:// URIs" in capsys.readouterr().err


def _file(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


# ---- S3 and the stack's job, with moto ----


class PlayedMapRun:
    """Plays the Distributed Map in moto: each poll reports `step` more lines processed, and the
    execution ends with `status` once all are."""

    def __init__(self, monkeypatch, total: int, step: int, status: str = "SUCCEEDED", failed: int = 0) -> None:
        self.backend = stepfunctions_backends[DEFAULT_ACCOUNT_ID][REGION]
        self.total, self.step, self.status, self.failed = total, step, status, failed
        self.processed = 0
        # On the class: leaving moto resets the backend instance before monkeypatch undoes its changes.
        monkeypatch.setattr(type(self.backend), "list_map_runs", lambda _, arn: self.list_map_runs(arn))
        monkeypatch.setattr(type(self.backend), "describe_map_run", lambda _, arn: self.describe_map_run(arn))

    def list_map_runs(self, execution_arn: str) -> dict:
        return {
            "mapRuns": [{"executionArn": execution_arn, "mapRunArn": f"{execution_arn}/map", "startDate": utcnow()}]
        }

    def describe_map_run(self, map_run_arn: str) -> dict:
        self.processed = min(self.total, self.processed + self.step)
        if self.processed == self.total:
            self._finish(map_run_arn.removesuffix("/map"))
        succeeded = self.processed - min(self.failed, self.processed)
        return {"itemCounts": {"total": self.total, "succeeded": succeeded, "failed": self.processed - succeeded}}

    def _finish(self, execution_arn: str) -> None:
        execution = self.backend.describe_execution(execution_arn)
        execution.status, execution.stop_date = self.status, utcnow()
        if self.status == "SUCCEEDED":
            details = {"Bucket": BUCKET, "Key": "bulk/results/run-1/abc/manifest.json"}
            execution.output = json.dumps({"MapRunArn": f"{execution_arn}/map", "ResultWriterDetails": details})
        else:
            execution.error = "States.ExceedToleratedFailureThreshold"
            execution.cause = "The specified tolerated failure threshold was exceeded"


@pytest.fixture
def deployed_job(aws: boto3.Session) -> str:
    """The bucket, the state machine and the stack outputs tools/bulk.py reads; the state machine's ARN."""
    aws.client("s3").create_bucket(Bucket=BUCKET)
    aws.client("s3").put_object(Bucket=BUCKET, Key=INPUT_KEY, Body=b'{"text": "RYANAIR DUBLIN FR8J2K"}\n')
    state_machine = aws.client("stepfunctions").create_state_machine(
        name="BulkJob",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/bulk",
    )["stateMachineArn"]
    outputs = {
        "BulkStateMachineArn": state_machine,
        "BulkInputUri": f"s3://{BUCKET}/bulk/input/",
        "BulkOutputUri": f"s3://{BUCKET}/bulk/results/",
    }
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    aws.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(template))
    return state_machine


def run_cloud_job(*extra: str, output: str = f"s3://{BUCKET}/bulk/results/run-1/") -> int:
    return bulk.main([f"s3://{BUCKET}/{INPUT_KEY}", output, "--stack", STACK, "--poll-seconds", "0", *extra])


def test_a_cloud_job_starts_follows_its_progress_and_sums_it_up(deployed_job, aws, monkeypatch, capsys) -> None:
    PlayedMapRun(monkeypatch, total=1000, step=300)
    assert run_cloud_job() == 0
    (execution,) = aws.client("stepfunctions").list_executions(stateMachineArn=deployed_job)["executions"]
    started = aws.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
    assert json.loads(started["input"]) == {
        "input_key": INPUT_KEY,
        "output_prefix": "bulk/results/run-1/",
        "format": "jsonl",
    }
    out, err = capsys.readouterr()
    assert "1000/1000" in err  # the progress bar, at its end
    assert "status     SUCCEEDED" in out
    assert "lines      1,000 (1,000 scored" in out
    assert "failures   0 lines" in out
    assert f"results    s3://{BUCKET}/bulk/results/run-1/abc/manifest.json" in out
    assert f"~${bulk.cloud_cost(1000):.4f}" in out


def test_a_failed_cloud_job_reports_its_error_and_exits_1(deployed_job, monkeypatch, capsys) -> None:
    PlayedMapRun(monkeypatch, total=640, step=640, status="FAILED", failed=128)
    assert run_cloud_job() == 1
    out = capsys.readouterr().out
    assert "status     FAILED" in out
    assert "failures   128 lines" in out
    assert "error      States.ExceedToleratedFailureThreshold: The specified tolerated failure" in out


def test_a_cloud_job_refuses_an_output_prefix_that_holds_results_unless_overwrite(
    deployed_job, aws, monkeypatch, capsys
) -> None:
    aws.client("s3").put_object(Bucket=BUCKET, Key="bulk/results/run-1/old/manifest.json", Body=b"{}")
    assert run_cloud_job() == 2
    assert "already holds results" in capsys.readouterr().err
    PlayedMapRun(monkeypatch, total=1, step=1)
    assert run_cloud_job("--overwrite") == 0


@pytest.mark.parametrize(
    ("source", "output", "message"),
    [
        (f"s3://{BUCKET}/elsewhere/x.jsonl", f"s3://{BUCKET}/bulk/results/r/", "INPUT must be under"),
        (f"s3://{BUCKET}/bulk/input/missing.jsonl", f"s3://{BUCKET}/bulk/results/r/", "cannot read INPUT"),
        (f"s3://{BUCKET}/{INPUT_KEY}", "s3://other-bucket/bulk/results/r/", "OUTPUT must be under"),
        (f"s3://{BUCKET}/{INPUT_KEY}", f"s3://{BUCKET}/bulk/results/", "OUTPUT must be under"),
    ],
)
def test_a_cloud_job_outside_the_jobs_prefixes_is_one_line_and_exit_2(
    deployed_job, capsys, source, output, message
) -> None:
    assert bulk.main([source, output, "--stack", STACK]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert message in line


def test_a_stack_without_the_bulk_job_is_one_line_and_exit_2(deployed_job, capsys) -> None:
    assert bulk.main([f"s3://{BUCKET}/{INPUT_KEY}", f"s3://{BUCKET}/bulk/results/r/", "--stack", "Missing"]) == 2
    assert "stack Missing not found" in capsys.readouterr().err


def test_s3_uris_without_credentials_are_one_line_and_exit_2(offline_aws_env, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AWS_REGION", REGION)
    assert bulk.main([f"s3://{BUCKET}/{INPUT_KEY}", f"s3://{BUCKET}/bulk/results/r/", "--stack", STACK]) == 2
    assert capsys.readouterr().err == f"bulk: {NO_CREDENTIALS}\n"
