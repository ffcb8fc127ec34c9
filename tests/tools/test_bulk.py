"""`python -m tools.bulk` and `make bulk`: local files through the real handler and the real demo
packages, compared with the API's answers; the cloud side against moto's S3, CloudFormation, Step
Functions and Lambda. moto runs no Distributed Map, so the tests play it: they report the map run's
progress and end the execution themselves (the state machine itself is asserted in
tests/infrastructure/test_bulk_job.py)."""

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

from deployment.catalog import PACKAGES_DIR, available_packages
from inference.package import PACKAGE_HINT
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
    """The local server's POST /predict URL, on one torch thread like each of tools/bulk.py's workers."""
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


def score(tmp_path: Path, lines: Sequence[object], *options: str, name: str = "in.jsonl") -> tuple[int, Path]:
    """bulk.main on these lines; (exit status, OUTPUT)."""
    output = tmp_path / "out.jsonl"
    return bulk.main([str(write_jsonl(tmp_path / name, lines)), str(output), *options]), output


def test_workers_share_the_batches_out_and_the_results_keep_the_input_order(tmp_path, capsys) -> None:
    texts = [row["text"] for row in read_split("test")]
    values = [{"id": f"tx-{i}", "text": texts[i % len(texts)]} for i in range(3 * bulk.BATCH_SIZE + 10)]
    values[70] = {"id": "blank", "text": ""}
    status, one = score(tmp_path, values, "--workers", "1")
    assert status == 0
    one_worker = one.read_text()
    status, two = score(tmp_path, values, "--workers", "2", "--overwrite")
    assert status == 0
    assert two.read_text() == one_worker
    assert [result["id"] for result in read_jsonl(two)] == [value["id"] for value in values]
    assert "error" in read_jsonl(two)[70]
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("202 lines scored by transaction-classifier in ")
    assert last.endswith(f"2 workers), 1 of them error objects: {two}")


@pytest.mark.parametrize(
    "model",
    ["embeddings", "model_artifacts/embeddings", str(PACKAGES_DIR / "embeddings"), "./model_artifacts/embeddings/"],
)
def test_the_model_is_a_package_named_by_its_folder_name_or_its_path(tmp_path, monkeypatch, invoke, model) -> None:
    monkeypatch.chdir(REPO)
    status, output = score(tmp_path, [{"id": "a", "text": "STARBUCKS STORE 10432 SEATTLE WA"}], "--model", model)
    assert status == 0
    (result,) = read_jsonl(output)
    assert list(result) == ["id", "embedding", "dims", "model"]
    assert result["model"]["name"] == json.loads((PACKAGES_DIR / "embeddings" / "model_card.json").read_text())["name"]


def test_a_custom_package_whose_request_has_one_text_field_is_scored_through_it(tmp_path, serve_task, invoke) -> None:
    lines = [{"id": "a", "text": "SQ *BLUE BOTTLE COFFEE OAKLAND CA"}, {"id": "b", "text": " "}]
    status, output = score(tmp_path, lines, "--model", "merchant-normalizer")
    assert status == 0
    serve_task("custom")
    first, blank = read_jsonl(output)
    assert first == {"id": "a", **invoke({"sentence": lines[0]["text"]})}
    assert blank["error"]["message"] == "sentence: must not be empty or only whitespace"


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            "embedings",
            "bulk: MODEL=embedings: no package of that name in model_artifacts/ (did you mean embeddings? "
            f"packages there: {', '.join(available_packages())})",
        ),
        ("model_artifacts/nope", "bulk: MODEL=model_artifacts/nope: no such folder"),
        (
            "digits",
            "bulk: digits is an image-classification package: it takes images, not text, so the bulk job cannot "
            "score lines with it: choose a package that takes text with MODEL=<name or folder>",
        ),
    ],
)
def test_a_model_bulk_cannot_score_is_refused_up_front_in_one_line(
    tmp_path, monkeypatch, capsys, model, message
) -> None:
    monkeypatch.chdir(REPO)
    status, output = score(tmp_path, [{"text": "STARBUCKS"}], "--model", model)
    assert status == 2
    assert capsys.readouterr().err == message + "\n"
    assert not output.exists()


def test_a_folder_that_is_not_a_package_is_one_line(tmp_path, capsys) -> None:
    status, _ = score(tmp_path, [{"text": "STARBUCKS"}], "--model", str(tmp_path))
    assert status == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"bulk: {tmp_path}") and "model_card.json" in line


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_package_that_cannot_load_is_one_line_whichever_process_loads_it(tmp_path, capsys, workers) -> None:
    package = tmp_path / "no-graph"
    package.mkdir()
    for name in ("model_card.json", "config.json", "tokenizer.json", "tokenizer_config.json"):
        (package / name).write_bytes((PACKAGES_DIR / "embeddings" / name).read_bytes())
    lines = [{"text": "STARBUCKS"}] * (bulk.BATCH_SIZE + 1)
    status, output = score(tmp_path, lines, "--model", str(package), "--workers", workers)
    assert status == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"bulk: {package}: model.pt is missing (the torch backend's graph); {PACKAGE_HINT}"
    )
    assert not output.exists() and not list(tmp_path.glob(".*.partial"))


@pytest.mark.parametrize(
    ("name", "lines", "message"),
    [
        ("statements.txt", ["STARBUCKS STORE 10432 SEATTLE WA"], "is neither JSONL (.jsonl, .ndjson, .json"),
        ("statements.jsonl", ["STARBUCKS STORE 10432 SEATTLE WA", "RYANAIR"], "is not JSONL: none of its lines"),
    ],
)
def test_a_file_of_plain_lines_is_refused_not_scored_as_errors(tmp_path, capsys, name, lines, message) -> None:
    status, output = score(tmp_path, lines, name=name)
    assert status == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"bulk: INPUT {tmp_path / name} ") and message in line
    assert not output.exists() and not list(tmp_path.glob(".*.partial"))


def test_make_bulk_passes_the_model_and_workers_as_given(tmp_path) -> None:
    """MODEL is a name or a path, as for the tool (make package's MODEL is a path too)."""
    done = subprocess.run(
        ["make", "-n", "bulk", "INPUT=in.jsonl", "OUTPUT=out.jsonl", "MODEL=model_artifacts/embeddings", "WORKERS=3"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert '-m tools.bulk "in.jsonl" "out.jsonl" --model "model_artifacts/embeddings" --workers "3" ' in done.stdout


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


# Deployed otherwise than the stack's defaults (64 lines a batch, 2048 MB, x86_64).
DEPLOYED = bulk.DeployedJob(batch_size=16, memory_mb=4096, architecture="arm64")


def job_definition(batch_size: int, function: str) -> dict:
    """The bulk job's definition as the stack writes it, what tools/bulk.py reads of it filled in (the
    synthesized one is read in tests/infrastructure/test_bulk_job.py)."""

    def scoring(name: str) -> dict:
        task = {"Type": "Task", "Resource": function, "End": True}
        return {
            "Type": "Map",
            "ItemBatcher": {"MaxItemsPerBatch": batch_size},
            "ItemProcessor": {"StartAt": f"{name} batch", "States": {f"{name} batch": task}},
            "End": True,
        }

    choice = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.format", "StringEquals": "csv", "Next": "Score CSV"}],
        "Default": "Score JSONL",
    }
    return {
        "StartAt": "Input format",
        "States": {"Input format": choice, "Score CSV": scoring("Score CSV"), "Score JSONL": scoring("Score JSONL")},
    }


@pytest.fixture
def deployed_job(aws: boto3.Session) -> str:
    """The bucket, the state machine and the stack outputs tools/bulk.py reads; the state machine's ARN."""
    aws.client("s3").create_bucket(Bucket=BUCKET)
    aws.client("s3").put_object(Bucket=BUCKET, Key=INPUT_KEY, Body=b'{"text": "RYANAIR DUBLIN FR8J2K"}\n')
    role = aws.client("iam").create_role(RoleName="bulk", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    function = aws.client("lambda").create_function(
        FunctionName="model",
        Role=role,
        PackageType="Image",
        Code={"ImageUri": f"{DEFAULT_ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/model:latest"},
        MemorySize=DEPLOYED.memory_mb,
        Architectures=[DEPLOYED.architecture],
    )["FunctionArn"]
    state_machine = aws.client("stepfunctions").create_state_machine(
        name="BulkJob", definition=json.dumps(job_definition(DEPLOYED.batch_size, function)), roleArn=role
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
    assert f"{bulk.cloud_cost(1000, DEPLOYED):.4f}" != f"{bulk.cloud_cost(1000):.4f}"
    assert f"cost       ~${bulk.cloud_cost(1000, DEPLOYED):.4f} " in out
    assert "as deployed: 16 lines a batch, 4096 MB, arm64)" in out


def test_a_cloud_job_is_priced_as_deployed_not_at_the_defaults() -> None:
    lines = 1_000_000
    default = bulk.cloud_cost(lines)
    assert default == bulk.cloud_cost(lines, bulk.DeployedJob(64, 2048, "x86_64"))
    # arm64's GB-second costs less; half the memory is a share of a core, about as slow as it is cheap;
    # smaller batches cost more Lambda requests and Express executions.
    assert bulk.cloud_cost(lines, bulk.DeployedJob(64, 2048, "arm64")) < default
    assert 0.8 * default < bulk.cloud_cost(lines, bulk.DeployedJob(64, 1024, "x86_64")) < default
    assert bulk.cloud_cost(lines, bulk.DeployedJob(64, 4096, "x86_64")) > 1.5 * default
    assert bulk.cloud_cost(lines, bulk.DeployedJob(8, 2048, "x86_64")) > default


def test_a_job_whose_function_cannot_be_read_is_priced_at_the_defaults_and_says_why(
    deployed_job, aws, monkeypatch, capsys
) -> None:
    aws.client("lambda").delete_function(FunctionName="model")
    PlayedMapRun(monkeypatch, total=1000, step=1000)
    assert run_cloud_job() == 0
    out = capsys.readouterr().out
    assert f"cost       ~${bulk.cloud_cost(1000):.4f} " in out
    assert "at 64 lines a batch, 2048 MB, x86_64: ResourceNotFoundException reading the job's" in out


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
        (f"s3://{BUCKET}/bulk/input/x.txt", f"s3://{BUCKET}/bulk/results/r/", "is neither JSONL"),
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


def test_a_model_for_a_cloud_job_is_refused_it_scores_with_the_stacks_first(capsys) -> None:
    assert bulk.main([f"s3://{BUCKET}/{INPUT_KEY}", f"s3://{BUCKET}/bulk/results/r/", "--model", "embeddings"]) == 2
    assert capsys.readouterr().err == (
        "bulk: --model (MODEL=) is for local files: a cloud job scores with the stack's first model\n"
    )


def test_s3_uris_without_credentials_are_one_line_and_exit_2(offline_aws_env, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AWS_REGION", REGION)
    assert bulk.main([f"s3://{BUCKET}/{INPUT_KEY}", f"s3://{BUCKET}/bulk/results/r/", "--stack", STACK]) == 2
    assert capsys.readouterr().err == f"bulk: {NO_CREDENTIALS}\n"
