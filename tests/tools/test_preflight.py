"""`python -m tools.preflight`: AWS answered by moto, Docker by small scripts named `docker`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deployment.catalog import PACKAGES_DIR
from inference.tasks import read_package
from tools.preflight import REPO, preflight

DAEMON_DOWN = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A checkout with the built package (its descriptions, and a stand-in for its graph) and the project's cdk.json."""
    checkout = tmp_path / "repo"
    package = checkout / "model_artifacts" / "transaction-classifier"
    package.mkdir(parents=True)
    for name in ("config.json", "model_card.json", "tokenizer.json"):
        (package / name).write_bytes((REPO / "model_artifacts" / "transaction-classifier" / name).read_bytes())
    (package / "model.pt").write_bytes(b"graph")
    (checkout / "cdk.json").write_text((REPO / "cdk.json").read_text())
    return checkout


@pytest.fixture
def docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """docker(exit_code, stderr): a `docker` whose `docker info` ends like that, alone on PATH
    (so a Docker installed on this machine cannot answer instead)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))

    def install(exit_code: int = 0, stderr: str = "") -> None:
        script = bin_dir / "docker"
        script.write_text(f'#!/bin/sh\n[ "$1" = info ] || exit 64\necho "{stderr}" >&2\nexit {exit_code}\n')
        script.chmod(0o755)

    return install


LOGGING_ROLE = "arn:aws:iam::123456789012:role/apigateway-cloudwatch-logs"


@pytest.fixture
def bootstrapped(aws):
    """The version parameter `cdk bootstrap` writes, in the moto account, whose API Gateway has the
    CloudWatch Logs role the API's access logs need (docs/deploy.md)."""

    def bootstrap(qualifier: str = "hnb659fds", logging_role: bool = True) -> None:
        aws.client("ssm").put_parameter(Name=f"/cdk-bootstrap/{qualifier}/version", Value="28", Type="String")
        if logging_role:
            aws.client("apigateway").update_account(
                patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": LOGGING_ROLE}]
            )

    return bootstrap


# The demo classifier as `make model` built it (its version moves with retraining).
CLASSIFIER = read_package(PACKAGES_DIR / "transaction-classifier")


def run(command: str, repo: Path, capsys: pytest.CaptureFixture, cdk_args: str = "") -> tuple[int, dict[str, str]]:
    """Exit code and the line printed for each check, by check name (`cdk_args`: make's CDK_ARGS)."""
    code = preflight(command, repo, cdk_args)
    lines = capsys.readouterr().out.splitlines()
    return code, {line[6:].split(":")[0]: line for line in lines}


def test_deploy_passes_when_every_prerequisite_is_in_place(repo, docker, aws, bootstrapped, capsys):
    docker(exit_code=0)
    bootstrapped()

    code, lines = run("deploy", repo, capsys)

    assert code == 0
    assert lines == {
        "settings": "ok    settings: stack PytorchInferenceApi: transaction-classifier on torch fp32, 2048 MB x86_64 "
        "(cdk.json)",
        "AWS account": (
            f"ok    AWS account: account 123456789012 in {aws.region_name} as arn:aws:sts::123456789012:user/moto"
        ),
        "CDK bootstrap": "ok    CDK bootstrap: version 28 (qualifier hnb659fds)",
        "API Gateway logging role": f"ok    API Gateway logging role: {LOGGING_ROLE}",
        "Docker": "ok    Docker: `docker info` answers",
        "model": (
            f"ok    model: model_artifacts/transaction-classifier: transaction-classifier-minilm {CLASSIFIER.version}, "
            "text-classification"
        ),
    }


def test_a_region_without_api_gateways_logging_role_is_told_how_to_set_one_or_do_without(
    repo, docker, aws, bootstrapped, capsys
):
    docker(exit_code=0)
    bootstrapped(logging_role=False)

    code, lines = run("deploy", repo, capsys)

    assert code == 2
    assert lines["API Gateway logging role"] == (
        f"FAIL  API Gateway logging role: API Gateway in {aws.region_name} has no CloudWatch Logs role, which the "
        "API's access logs need: set one as docs/deploy.md shows, or set api_access_logs to false in cdk.json"
    )
    settings = json.loads((repo / "cdk.json").read_text())
    settings["context"]["api_access_logs"] = False
    (repo / "cdk.json").write_text(json.dumps(settings))
    code, lines = run("deploy", repo, capsys)
    assert code == 0
    assert lines["API Gateway logging role"] == "ok    API Gateway logging role: not needed (api_access_logs is false)"


def test_docker_not_installed_is_one_line(repo, docker, bootstrapped, capsys):
    bootstrapped()

    code, lines = run("deploy", repo, capsys)

    assert code == 2
    assert (
        lines["Docker"] == "FAIL  Docker: `docker` is not on PATH: cdk deploy builds the image locally, install Docker"
    )


def test_a_docker_daemon_that_is_down_is_one_line_with_what_docker_said(repo, docker, bootstrapped, capsys):
    docker(exit_code=1, stderr=DAEMON_DOWN)
    bootstrapped()

    code, lines = run("deploy", repo, capsys)

    assert code == 2
    assert lines["Docker"] == f"FAIL  Docker: `docker info` failed ({DAEMON_DOWN}): start the Docker daemon"


def test_the_docker_command_cdk_uses_is_the_one_checked(repo, docker, bootstrapped, capsys, monkeypatch):
    docker(exit_code=1, stderr=DAEMON_DOWN)
    bootstrapped()
    monkeypatch.setenv("CDK_DOCKER", "finch")

    _, lines = run("deploy", repo, capsys)

    assert lines["Docker"].startswith("FAIL  Docker: `finch` is not on PATH")


def test_a_missing_model_is_one_line(repo, docker, bootstrapped, capsys):
    docker(exit_code=0)
    bootstrapped()
    package = repo / "model_artifacts" / "transaction-classifier"
    (package / "model.pt").unlink()

    code, lines = run("deploy", repo, capsys)

    assert code == 2
    assert lines["model"] == (
        f"FAIL  model: {package}: model.pt is missing (the torch backend's graph); "
        "build it with `make package MODEL=<hf folder> OUT=<package folder>` (docs/models.md)"
    )


def test_a_package_the_runtime_cannot_read_is_one_line(repo, docker, bootstrapped, capsys):
    docker(exit_code=0)
    bootstrapped()
    package = repo / "model_artifacts" / "transaction-classifier"
    (package / "tokenizer.json").unlink()

    code, lines = run("deploy", repo, capsys)

    assert code == 2
    assert lines["model"].startswith(
        f"FAIL  model: {package}: tokenizer.json is missing (the runtime reads the fast tokenizer)"
    )


def test_an_account_without_bootstrap_is_told_the_command_that_bootstraps_it(repo, docker, aws, capsys):
    docker(exit_code=0)

    code, lines = run("deploy", repo, capsys)

    assert code == 2
    assert lines["CDK bootstrap"] == (
        f"FAIL  CDK bootstrap: 123456789012/{aws.region_name} is not bootstrapped (qualifier hnb659fds): "
        f"run `npx cdk bootstrap aws://123456789012/{aws.region_name}`"
    )


def test_the_bootstrap_qualifier_comes_from_cdk_json(repo, docker, bootstrapped, capsys):
    docker(exit_code=0)
    bootstrapped()
    settings = json.loads((repo / "cdk.json").read_text())
    settings["context"]["@aws-cdk/core:bootstrapQualifier"] = "team42"
    (repo / "cdk.json").write_text(json.dumps(settings))

    code, lines = run("deploy", repo, capsys)

    assert code == 2
    assert "is not bootstrapped (qualifier team42)" in lines["CDK bootstrap"]
    bootstrapped("team42")
    assert run("deploy", repo, capsys)[0] == 0


@pytest.mark.parametrize("command", ["destroy", "smoke"])
def test_destroy_and_smoke_need_only_the_aws_account(repo, docker, aws, capsys, command):
    (repo / "model_artifacts" / "transaction-classifier" / "model.pt").unlink()

    code, lines = run(command, repo, capsys)

    assert code == 0
    assert list(lines) == ["AWS account"]


def test_the_settings_checked_are_cdk_json_with_the_cdk_args_make_deploy_passes(
    repo, docker, aws, bootstrapped, capsys
):
    docker(exit_code=0)
    bootstrapped(logging_role=False)

    # The package has no model.onnx: cdk.json alone (torch) would pass, the deploy with -c backend=onnx fails.
    code, lines = run("deploy", repo, capsys, cdk_args="--profile ops -c backend=onnx --context api_access_logs=false")

    assert code == 2
    assert lines["settings"] == (
        "ok    settings: stack PytorchInferenceApi: transaction-classifier on onnx fp32, 2048 MB x86_64 "
        "(cdk.json with CDK_ARGS --profile ops -c backend=onnx --context api_access_logs=false)"
    )
    assert lines["API Gateway logging role"] == "ok    API Gateway logging role: not needed (api_access_logs is false)"
    package = repo / "model_artifacts" / "transaction-classifier"
    assert lines["model"] == (
        f"FAIL  model: {package}: model.onnx is missing (the onnx backend's graph); "
        "build it with `make package MODEL=<hf folder> OUT=<package folder>` (docs/models.md)"
    )


def test_cdk_args_come_from_the_environment_as_make_exports_them(repo, docker, bootstrapped, capsys, monkeypatch):
    docker(exit_code=0)
    bootstrapped()
    monkeypatch.setenv("CDK_ARGS", "-c memory_mb=64")

    code = preflight("deploy", repo)

    assert code == 2
    assert "FAIL  settings: memory_mb=64 is not allowed: expected an integer in 512..10240" in capsys.readouterr().out


def test_without_credentials_every_failure_is_one_line_and_no_traceback(offline_aws_env, docker):
    docker(exit_code=1, stderr=DAEMON_DOWN)
    env = {**os.environ, "AWS_REGION": "eu-west-1"}

    finished = subprocess.run(
        [sys.executable, "-m", "tools.preflight", "deploy"], cwd=REPO, env=env, capture_output=True, text=True
    )

    assert finished.returncode == 2
    assert finished.stdout.splitlines()[1:5] == [
        "FAIL  AWS account: no AWS credentials: set AWS_PROFILE, or run `aws configure` / `aws sso login`",
        "skip  CDK bootstrap: needs the AWS account above",
        "skip  API Gateway logging role: needs the AWS account above",
        f"FAIL  Docker: `docker info` failed ({DAEMON_DOWN}): start the Docker daemon",
    ]
    assert finished.stderr == "make deploy: fix the FAIL lines above first\n"


def test_without_a_region_the_account_check_says_how_to_set_one(offline_aws_env, repo, capsys):
    code, lines = run("destroy", repo, capsys)

    assert code == 2
    assert lines["AWS account"] == "FAIL  AWS account: no AWS region: set AWS_REGION (or a region in your AWS profile)"


def test_an_aws_profile_that_does_not_exist_is_one_line(offline_aws_env, repo, capsys, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "nope")

    code, lines = run("destroy", repo, capsys)

    assert code == 2
    assert lines["AWS account"] == (
        "FAIL  AWS account: no AWS profile 'nope': set AWS_PROFILE to one of `aws configure list-profiles`"
    )


def with_models(repo: Path, models: str) -> None:
    cdk_json = json.loads((repo / "cdk.json").read_text())
    cdk_json["context"]["models"] = models
    (repo / "cdk.json").write_text(json.dumps(cdk_json))


def test_every_model_cdk_json_deploys_is_checked(repo, docker, bootstrapped, capsys):
    docker(exit_code=0)
    bootstrapped()
    with_models(repo, "transaction-classifier,embeddings")
    (repo / "model_artifacts" / "embeddings").mkdir()

    code, lines = run("deploy", repo, capsys)

    assert code == 2
    assert lines["settings"] == (
        "FAIL  settings: models=transaction-classifier,embeddings is not allowed: embeddings is not a "
        "package of model_artifacts/ (packages there: transaction-classifier)"
    )
    assert lines["model"] == "skip  model: needs the settings above"


def test_a_second_model_the_runtime_cannot_serve_is_one_line_naming_it(repo, docker, bootstrapped, capsys):
    docker(exit_code=0)
    bootstrapped()
    with_models(repo, "transaction-classifier,embeddings")
    embeddings = repo / "model_artifacts" / "embeddings"
    embeddings.mkdir()
    for name in ("config.json", "model_card.json", "tokenizer.json", "modules.json"):
        (embeddings / name).write_bytes((REPO / "model_artifacts" / "embeddings" / name).read_bytes())

    code, lines = run("deploy", repo, capsys)

    assert code == 2
    assert lines["model"].startswith(f"FAIL  model: {embeddings}: model.pt is missing (the torch backend's graph)")
