"""`python -m tools.smoke`: stack outputs from moto's CloudFormation, real requests to the real
local server (behind a gateway that checks API keys and SigV4 signatures like API Gateway)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import boto3
import pytest

from tools.preflight import REPO
from tools.smoke import CheckFailed, _prediction, execute_api_signer, main

pytestmark = pytest.mark.slow

STACK = "PytorchInferenceApi"
CHECKS = ["single text", "batch of 3", "batch reversed", "bad request", "GET /predict"]
SIGV4_EXECUTE_API = (
    r"AWS4-HMAC-SHA256 Credential={access_key}/\d{{8}}/{region}/execute-api/aws4_request, "
    r"SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{{64}}"
)


def deploy_stack(session: boto3.Session, name: str = STACK, **outputs: str) -> None:
    """A CloudFormation stack in moto with these outputs (the URL, auth mode, API key id)."""
    template = {
        "Resources": {"Logs": {"Type": "AWS::Logs::LogGroup"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    session.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


class Row(NamedTuple):
    result: str
    http: str
    detail: str


def table_rows(out: str) -> dict[str, Row]:
    """The printed table, by check name, cut at the header's column positions."""
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("CHECK "))
    starts = [lines[header].index(column) for column in ("RESULT", "HTTP", "LATENCY", "DETAIL")]
    rows = {}
    for line in lines[header + 1 :]:
        if not line:
            break
        check, result, http, _latency, detail = (
            line[a:b].strip() for a, b in zip([0, *starts], [*starts, None], strict=True)
        )
        rows[check] = Row(result, http, detail)
    return rows


@pytest.fixture
def smoke(capsys: pytest.CaptureFixture, served_model_card: Path):
    """smoke(*args) -> exit code, the table's rows by check name, and the whole output."""

    def run(*args: str) -> tuple[int, dict[str, Row], str]:
        code = main([*args, "--model-card", str(served_model_card)])
        out, err = capsys.readouterr()
        assert err == ""
        return code, table_rows(out), out

    return run


def test_every_check_passes_against_the_url_in_the_stack_output(aws, local_server_url, smoke):
    deploy_stack(aws, ApiUrl=local_server_url)

    code, rows, out = smoke("--stack", STACK)

    assert code == 0
    assert {check: (row.result, row.http) for check, row in rows.items()} == {
        "single text": ("pass", "200"),
        "batch of 3": ("pass", "200"),
        "batch reversed": ("pass", "200"),
        "bad request": ("pass", "400"),
        "GET /predict": ("pass", "405"),
    }
    assert out.rstrip().endswith("5/5 checks passed")


def test_the_table_names_the_url_the_auth_the_model_and_its_labels(aws, local_server_url, smoke, served_model_card):
    deploy_stack(aws, ApiUrl=local_server_url)
    card = json.loads(served_model_card.read_text())

    _, rows, out = smoke("--stack", STACK)

    assert out.startswith(f"Smoke test of {local_server_url} (auth: none)\n")
    label, _score, model = re.fullmatch(r"(\S+) (0\.\d\d|1\.00); model (.+)", rows["single text"].detail).groups()
    assert label in card["labels"]
    assert model == f"{card['name']} {card['version']}"
    assert [prediction.split()[0] in card["labels"] for prediction in rows["batch of 3"].detail.split(", ")] == [
        True
    ] * 3


def test_a_label_outside_the_model_card_fails_the_prediction_checks(
    aws, local_server_url, capsys, served_model_card, tmp_path
):
    card = json.loads(served_model_card.read_text())
    other_labels = tmp_path / "model_card.json"
    other_labels.write_text(json.dumps({**card, "labels": ["none-of-these"]}))

    code = main(["--url", local_server_url, "--model-card", str(other_labels)])
    out = capsys.readouterr().out
    rows = table_rows(out)

    assert code == 1
    assert [rows[check].result for check in CHECKS] == ["FAIL", "FAIL", "FAIL", "pass", "pass"]
    assert "is not one of the model's labels ['none-of-these']" in rows["single text"].detail
    assert rows["batch reversed"].detail == "needs the batch of 3 to pass first"
    assert out.rstrip().endswith("2/5 checks passed, 3 FAILED")


def test_an_api_that_does_not_answer_fails_every_check(aws, smoke):
    with socket.socket() as bound_not_listening:  # connections to its port are refused
        bound_not_listening.bind(("127.0.0.1", 0))
        code, rows, _ = smoke("--url", f"http://127.0.0.1:{bound_not_listening.getsockname()[1]}/predict")

    assert code == 1
    assert {(row.result, row.http) for row in rows.values()} == {("FAIL", "-")}
    assert all(row.detail.startswith("no answer: ConnectionError") for row in rows.values())


def test_the_api_key_named_by_the_stack_output_is_sent_as_x_api_key(aws, gateway, smoke):
    key = aws.client("apigateway").create_api_key(name="smoke", enabled=True)
    api = gateway(api_key=key["value"])
    deploy_stack(aws, ApiUrl=api.url, ApiKeyId=key["id"])

    code, rows, _ = smoke("--stack", STACK)

    assert code == 0
    assert (rows["no credentials"].result, rows["no credentials"].http) == ("pass", "403")
    sent_keys = [headers.get("x-api-key") for _, headers in api.received]
    assert sent_keys == [key["value"]] * len(CHECKS) + [None]


def test_an_api_key_given_by_value_needs_no_stack(aws, gateway, smoke):
    api = gateway(api_key="a-key-from-the-console")

    code, rows, _ = smoke("--url", api.url, "--api-key", "a-key-from-the-console")

    assert code == 0
    assert (rows["no credentials"].result, rows["no credentials"].http) == ("pass", "403")


def test_iam_auth_signs_every_request_with_sigv4_for_execute_api(aws, gateway, smoke):
    credentials = aws.get_credentials()
    api = gateway(credentials=credentials)
    deploy_stack(aws, ApiUrl=api.url, AuthMode="AWS_IAM")

    code, rows, _ = smoke("--stack", STACK)

    assert code == 0  # the gateway forwarded only requests whose signature it verified
    assert (rows["no credentials"].result, rows["no credentials"].http) == ("pass", "403")
    authorizations = [headers.get("authorization") for _, headers in api.received]
    sigv4 = SIGV4_EXECUTE_API.format(access_key=re.escape(credentials.access_key), region=aws.region_name)
    assert [bool(header and re.fullmatch(sigv4, header)) for header in authorizations] == [True] * len(CHECKS) + [False]


def test_the_iam_flag_signs_requests_to_a_url(aws, gateway, smoke):
    api = gateway(credentials=aws.get_credentials())

    code, rows, _ = smoke("--url", api.url, "--iam")

    assert code == 0
    assert [row.result for row in rows.values()] == ["pass"] * (len(CHECKS) + 1)


def test_requests_to_an_execute_api_url_are_signed_for_its_region(aws):
    signer = execute_api_signer(aws, "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/predict")

    assert (signer._region_name, signer._service_name) == ("eu-west-1", "execute-api")


@pytest.mark.parametrize(
    ("args", "outputs", "message"),
    [
        (["--stack", "Missing", "--region", "eu-central-1"], None, "smoke: stack Missing not found in eu-central-1"),
        (["--stack", STACK], {"Other": "x"}, f"smoke: stack {STACK} has no ApiUrl output: is its deployment complete?"),
        (["--stack", STACK, "--api-key-id", "nokey"], {"ApiUrl": "http://127.0.0.1/predict"}, "smoke: AWS refused:"),
    ],
    ids=["no such stack", "no ApiUrl output", "unknown API key id"],
)
def test_a_setup_problem_is_one_line_and_exit_code_2(aws, capsys, args, outputs, message):
    if outputs is not None:
        deploy_stack(aws, **outputs)

    code = main(args)
    out, err = capsys.readouterr()

    assert (code, out) == (2, "")
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_without_credentials_the_cli_says_so_in_one_line(offline_aws_env):
    env = {**os.environ, "AWS_REGION": "eu-west-1"}

    finished = subprocess.run(
        [sys.executable, "-m", "tools.smoke", "--stack", STACK], cwd=REPO, env=env, capture_output=True, text=True
    )

    assert (finished.returncode, finished.stdout) == (2, "")
    assert finished.stderr == ("smoke: no AWS credentials: set AWS_PROFILE, or run `aws configure` / `aws sso login`\n")


def test_an_aws_profile_that_does_not_exist_is_one_line(offline_aws_env):
    env = {**os.environ, "AWS_REGION": "eu-west-1", "AWS_PROFILE": "nope"}

    finished = subprocess.run(
        [sys.executable, "-m", "tools.smoke", "--stack", STACK], cwd=REPO, env=env, capture_output=True, text=True
    )

    assert (finished.returncode, finished.stdout) == (2, "")
    assert finished.stderr == "smoke: no AWS profile 'nope': set AWS_PROFILE to one of `aws configure list-profiles`\n"


def test_a_null_label_under_the_deployments_min_score_passes_with_its_top_label():
    top_k = [{"label": "shopping", "score": 0.601}, {"label": "food", "score": 0.3818}]
    unsure = {"label": None, "score": 0.601, "top_k": top_k}
    assert _prediction(unsure, frozenset({"shopping", "food"})) == "null (under min_score; top shopping 0.60)"
    with pytest.raises(CheckFailed, match="top_k does not start with the label"):
        _prediction({**unsure, "label": "food"}, None)
    with pytest.raises(CheckFailed, match="'shopping' is not one of the model's labels"):
        _prediction(unsure, frozenset({"food"}))
