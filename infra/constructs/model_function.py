"""The model function: the Lambda container image built from lambda_image/Dockerfile."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, IgnoreMode, RemovalPolicy
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from inference.package import GRAPH_FILES
from infra.config import InferenceConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = "lambda_image/Dockerfile"
MODEL_DIR = "/opt/ml/model"
# Powertools publishes the handler's metrics (ColdStart, Latency, ...) under this namespace with
# this service dimension; the dashboard reads them back.
SERVICE_NAME = "transaction-classifier"
METRICS_NAMESPACE = "PytorchLambdaApi"
# Files of a package the runtime never reads: transformers' weights (the graphs replace them) and
# evaluation outputs for people.
NOT_SERVED = ["*.safetensors", "*.bin", "*.png", "*.md", "evaluation.json"]


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


class ModelFunction(Construct):
    """The inference function serving one package of model_artifacts/, its log group and,
    optionally, provisioned concurrency.

    `invoke_target` is what callers (API, warm-up) should invoke: the `live` alias when
    provisioned concurrency is on (the concurrency belongs to the alias), else the function.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: InferenceConfig, package: str) -> None:
        super().__init__(scope, construct_id)
        graph = GRAPH_FILES[config.backend, config.model_variant]
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=config.log_retention_days,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Instead of the AWS managed basic execution role (logs:* on every log group): the
        # function may write to its own log group and nothing else.
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.log_group.grant_write(role)
        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            description="Transaction classifier: PyTorch model served from a container image",
            code=lambda_.DockerImageCode.from_image_asset(
                str(REPO_ROOT),
                file=DOCKERFILE,
                # Names the ECR repository the staging stack creates for this image.
                asset_name="model-function",
                platform=ecr_assets.Platform.custom(config.architecture.docker_platform),
                exclude=image_context(package, graph),
                ignore_mode=IgnoreMode.DOCKER,
                build_args={"BACKEND": config.backend, "PACKAGE": package, "GRAPH": graph},
            ),
            architecture=config.architecture,
            memory_size=config.memory_mb,
            timeout=Duration.seconds(config.timeout_seconds),
            role=role,
            log_group=self.log_group,
            # Only used with provisioned concurrency; a retained version would outlive the stack.
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY),
            environment={
                "MODEL_DIR": MODEL_DIR,
                "MAX_TEXT_CHARS": str(config.max_text_chars),
                "MAX_BATCH": str(config.max_batch),
                "MAX_BODY_BYTES": str(config.max_body_bytes),
                "DEFAULT_TOP_K": str(config.default_top_k),
                "TORCH_THREADS": str(config.torch_threads),
                "MODEL_VARIANT": config.model_variant,
                "MODEL_BACKEND": config.backend,
                "HF_HUB_OFFLINE": "1",
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "LOG_LEVEL": "INFO",
                # Behind a proxy integration API Gateway answers only the CORS preflight; the
                # handler adds Access-Control-Allow-Origin to the answers themselves.
                **({"CORS_ALLOW_ORIGINS": ",".join(config.cors_allow_origins)} if config.cors_allow_origins else {}),
            },
        )
        self.invoke_target: lambda_.IFunction = self.function
        if config.provisioned_concurrency:
            self.invoke_target = lambda_.Alias(
                self,
                "Live",
                alias_name="live",
                version=self.function.current_version,
                provisioned_concurrent_executions=config.provisioned_concurrency,
            )
