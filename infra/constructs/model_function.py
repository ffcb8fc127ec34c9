"""The model function: the Lambda container image built from lambda_image/Dockerfile."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Annotations, Duration, IgnoreMode, RemovalPolicy, Size
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from deployment.catalog import NOT_SERVED
from deployment.settings import DeploymentSettings
from inference.package import GRAPH_FILES
from infra.checkov_skips import LOG_GROUP_KEY, MODEL_FUNCTION, skip
from infra.config import architecture, log_retention
from infra.nag import acknowledge

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = "lambda_image/Dockerfile"
MODEL_DIR = "/opt/ml/model"


def image_context(package: str, graph: str) -> list[str]:
    """The build context is the repository root (the image needs the package too), so the context
    is an allow-list: only what the Dockerfile copies reaches the build and the asset hash, and
    tests, caches, .venv, cdk.out or other packages never trigger a rebuild."""
    return [
        "*",
        f"!{DOCKERFILE}",
        "!lambda_image/requirements.txt",
        "!lambda_image/requirements-onnx.txt",
        "!lambda_image/constraints.txt",
        "!lambda_image/inference",
        f"!model_artifacts/{package}",
        "**/__pycache__",
        "**/*.pyc",
        *(f"model_artifacts/{package}/**/{pattern}" for pattern in NOT_SERVED),
        # The graphs of the other backend and variant would only weigh on the image.
        *(f"model_artifacts/{package}/{other}" for other in GRAPH_FILES.values() if other != graph),
        *SECRETS,
    ]


# Nothing that looks like a secret, even inside the allowed folders: an image is not a vault.
SECRETS = [
    "**/.env*",
    "**/*.pem",
    "**/*.key",
    "**/id_rsa*",
    "**/credentials*",
    "**/.aws",
    "**/.netrc",
    "**/.pypirc",
]
# Read by libraries, not by the runtime's settings: huggingface_hub (never reach a model hub) and
# Powertools' logger.
LIBRARY_ENVIRONMENT = {"HF_HUB_OFFLINE": "1", "LOG_LEVEL": "INFO"}


def runtime_environment(config: DeploymentSettings, package: str) -> dict[str, str]:
    """The runtime's settings for the function serving `package`, as the variables its Settings
    reads back (derived from the settings model, never written here). Behind a proxy integration
    API Gateway answers only the CORS preflight; the handler adds Access-Control-Allow-Origin to
    the answers themselves, hence CORS_ALLOW_ORIGINS among them."""
    return config.function_settings(package, Path(MODEL_DIR)).to_env()


class ModelFunction(Construct):
    """The inference function serving one package of model_artifacts/ (`package`, its folder name),
    its log group and, optionally, provisioned concurrency or SnapStart.

    `invoke_target` is what callers (API, warm-up) should invoke: the `live` alias when
    provisioned concurrency or SnapStart is on (both belong to a published version), else the
    function.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentSettings, package: str) -> None:
        super().__init__(scope, construct_id)
        graph = GRAPH_FILES[config.runtime.model_backend, config.runtime.model_variant]
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=log_retention(config),
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Instead of the AWS managed basic execution role (logs:* on every log group): the
        # function may write to its own log group and nothing else.
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.log_group.grant_write(role)
        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            description=f"{package}: PyTorch model served from a container image",
            code=lambda_.DockerImageCode.from_image_asset(
                str(REPO_ROOT),
                file=DOCKERFILE,
                # Names the ECR repository the staging stack creates for this image (<app id>/<package>):
                # one per package, so that keeping the last images of one never expires another's.
                asset_name=package,
                platform=ecr_assets.Platform.custom(architecture(config).docker_platform),
                exclude=image_context(package, graph),
                ignore_mode=IgnoreMode.DOCKER,
                build_args={"BACKEND": config.runtime.model_backend, "PACKAGE": package, "GRAPH": graph},
            ),
            architecture=architecture(config),
            memory_size=config.memory_mb_of(package),
            ephemeral_storage_size=Size.mebibytes(config.ephemeral_storage_mb),
            timeout=Duration.seconds(config.timeout_seconds),
            # Snapshots of the initialized function (model loaded, one prediction run) are taken
            # when a version is published; only the `live` alias below invokes one.
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if config.snapstart else None,
            tracing=lambda_.Tracing.ACTIVE if config.xray_tracing else None,
            role=role,
            log_group=self.log_group,
            # Only used by the alias; a retained version would outlive the stack.
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY),
            environment={**runtime_environment(config, package), **LIBRARY_ENVIRONMENT},
        )
        if config.snapstart:
            Annotations.of(self.function).acknowledge_warning(
                "@aws-cdk/aws-lambda:snapStartRequirePublish", "The live alias below invokes a published version."
            )
        self._accept_findings(role, xray_tracing=config.xray_tracing)
        self.invoke_target: lambda_.IFunction = self.function
        if config.provisioned_concurrency or config.snapstart:
            self.invoke_target = lambda_.Alias(
                self,
                "Live",
                alias_name="live",
                version=self.function.current_version,
                provisioned_concurrent_executions=config.provisioned_concurrency or None,
            )

    def _accept_findings(self, role: iam.IRole, *, xray_tracing: bool) -> None:
        """The cdk-nag findings and checkov checks this function does not meet, each with its reason."""
        if xray_tracing:
            acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::*]",
                "X-Ray's PutTraceSegments and PutTelemetryRecords, which tracing needs, have no resource-level "
                "permissions.",
            )
        for check_id, reason in MODEL_FUNCTION.items():
            skip(self.function, check_id, reason)
        skip(self.log_group, "CKV_AWS_158", LOG_GROUP_KEY)
