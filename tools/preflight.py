"""`python -m tools.preflight deploy|destroy|smoke`: the prerequisites of `make <command>`.

One line per check; a failing check says what is missing and how to fix it. Exit code 0 when
everything is in place, 2 when something is missing (never a traceback).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

from deployment.catalog import served_packages
from deployment.settings import DeploymentSettings, SettingsError, deployment_context, read_settings
from inference.package import PackageError
from tools.aws import NO_CREDENTIALS, NO_REGION, aws_session, no_profile

REPO = Path(__file__).resolve().parents[1]
# The qualifier `cdk bootstrap` uses unless cdk.json sets @aws-cdk/core:bootstrapQualifier.
DEFAULT_QUALIFIER = "hnb659fds"
DOCKER_INFO_TIMEOUT_SECONDS = 60


class CheckFailed(Exception):
    """The one line that says what is missing."""


@dataclass
class Workspace:
    """What the checks look at: the repository, the settings `make deploy` deploys (cdk.json with
    the `-c` options of `cdk_args`), and the AWS account and region of this shell."""

    repo: Path
    cdk_args: str

    @cached_property
    def session(self) -> boto3.Session:
        return aws_session()

    @cached_property
    def identity(self) -> dict:
        return self.session.client("sts").get_caller_identity()

    @cached_property
    def context(self) -> dict:
        return deployment_context(self.repo, self.cdk_args)

    @property
    def settings(self) -> DeploymentSettings:
        try:
            return read_settings(self.context, self.repo / "model_artifacts")
        except SettingsError as error:
            raise CheckFailed(str(error)) from None


def aws_account(workspace: Workspace) -> str:
    try:
        region = workspace.session.region_name
        if not region:
            raise CheckFailed(NO_REGION)
        identity = workspace.identity
    except ProfileNotFound as error:
        raise CheckFailed(no_profile(error)) from None
    except NoCredentialsError:
        raise CheckFailed(NO_CREDENTIALS) from None
    except (ClientError, BotoCoreError) as error:
        raise CheckFailed(f"the AWS credentials do not work: {error}") from None
    return f"account {identity['Account']} in {region} as {identity['Arn']}"


def cdk_bootstrap(workspace: Workspace) -> str:
    """AppStagingSynthesizer creates its own staging bucket and repositories, but deploys with the
    roles of the standard bootstrap stack (cdk-<qualifier>-deploy-role-<account>-<region>, ...),
    which `cdk bootstrap` creates together with this version parameter."""
    qualifier = workspace.context.get("@aws-cdk/core:bootstrapQualifier", DEFAULT_QUALIFIER)
    ssm = workspace.session.client("ssm")
    try:
        version = ssm.get_parameter(Name=f"/cdk-bootstrap/{qualifier}/version")["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        environment = f"{workspace.identity['Account']}/{workspace.session.region_name}"
        raise CheckFailed(
            f"{environment} is not bootstrapped (qualifier {qualifier}): run `npx cdk bootstrap aws://{environment}`"
        ) from None
    except (ClientError, BotoCoreError) as error:
        raise CheckFailed(f"cannot read the bootstrap version parameter: {error}") from None
    return f"version {version} (qualifier {qualifier})"


def api_gateway_logging_role(workspace: Workspace) -> str:
    """The API's access logs (api_access_logs, on by default) go to CloudWatch through the role that
    the region's API Gateway account settings name: without one, CloudFormation fails the stage."""
    if not workspace.settings.api_access_logs:
        return "not needed (api_access_logs is false)"
    try:
        role = workspace.session.client("apigateway").get_account().get("cloudwatchRoleArn")
    except (ClientError, BotoCoreError) as error:
        raise CheckFailed(f"cannot read API Gateway's account settings: {error}") from None
    if not role:
        raise CheckFailed(
            f"API Gateway in {workspace.session.region_name} has no CloudWatch Logs role, which the API's access logs "
            "need: set one as docs/deploy.md shows, or set api_access_logs to false in cdk.json"
        )
    return role


def docker(workspace: Workspace) -> str:
    # CDK builds the image with the command CDK_DOCKER names (finch, podman, ...), else docker.
    command = os.environ.get("CDK_DOCKER", "docker")
    if shutil.which(command) is None:
        raise CheckFailed(f"`{command}` is not on PATH: cdk deploy builds the image locally, install Docker")
    try:
        info = subprocess.run(
            [command, "info"], capture_output=True, text=True, timeout=DOCKER_INFO_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        raise CheckFailed(
            f"`{command} info` did not answer in {DOCKER_INFO_TIMEOUT_SECONDS} s: restart Docker"
        ) from None
    if info.returncode != 0:
        said = (info.stderr.strip() or info.stdout.strip() or f"exit code {info.returncode}").splitlines()[-1]
        raise CheckFailed(f"`{command} info` failed ({said}): start the Docker daemon")
    return f"`{command} info` answers"


def settings_read(workspace: Workspace) -> str:
    """The settings `cdk deploy $(CDK_ARGS)` will deploy, read as synth reads them."""
    settings, runtime = workspace.settings, workspace.settings.runtime
    source = f"cdk.json with CDK_ARGS {workspace.cdk_args.strip()}" if workspace.cdk_args.strip() else "cdk.json"
    return (
        f"stack {settings.stack_name}: {', '.join(settings.models)} on {runtime.model_backend} "
        f"{runtime.model_variant}, {settings.memory_mb} MB {settings.architecture} ({source})"
    )


def model_built(workspace: Workspace) -> str:
    """The packages the settings deploy, each read as its function's init will read it."""
    settings = workspace.settings
    packages_dir = workspace.repo / "model_artifacts"
    try:
        packages = served_packages(
            settings.models, settings.runtime.model_backend, settings.runtime.model_variant, packages_dir
        )
    except PackageError as error:
        raise CheckFailed(str(error)) from None
    return "; ".join(
        f"{package.directory.relative_to(workspace.repo)}: {package.name} {package.version}, {package.task}"
        for package in packages
    )


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[Workspace], str]
    # A check that cannot run when this one failed: it is skipped, not failed again.
    needs: Check | None = None


AWS_ACCOUNT = Check("AWS account", aws_account)
SETTINGS = Check("settings", settings_read)
CHECKS = {
    "deploy": [
        SETTINGS,
        AWS_ACCOUNT,
        Check("CDK bootstrap", cdk_bootstrap, needs=AWS_ACCOUNT),
        Check("API Gateway logging role", api_gateway_logging_role, needs=AWS_ACCOUNT),
        Check("Docker", docker),
        Check("model", model_built, needs=SETTINGS),
    ],
    "destroy": [AWS_ACCOUNT],
    "smoke": [AWS_ACCOUNT],
}


def preflight(command: str, repo: Path = REPO, cdk_args: str | None = None) -> int:
    """Print one line per check of `command`; 0 when all pass, 2 when any fails. `cdk_args`: the
    options `make` passes to cdk (default the CDK_ARGS environment variable)."""
    workspace = Workspace(repo, os.environ.get("CDK_ARGS", "") if cdk_args is None else cdk_args)
    failed: list[Check] = []
    for check in CHECKS[command]:
        if check.needs in failed:
            print(f"skip  {check.name}: needs the {check.needs.name} above")
            continue
        try:
            print(f"ok    {check.name}: {check.run(workspace)}")
        except CheckFailed as failure:
            print(f"FAIL  {check.name}: {failure}")
            failed.append(check)
    if failed:
        print(f"make {command}: fix the FAIL lines above first", file=sys.stderr)
    return 2 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.preflight", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=sorted(CHECKS))
    return preflight(parser.parse_args(argv).command)


if __name__ == "__main__":
    sys.exit(main())
