"""Runtime settings: one frozen, validated object built from environment variables once at init.

Each field's type and bounds are the one definition of that setting: the deployment's settings
(deployment/settings.py, read from cdk.json and `-c`) embed this model, and the stack derives the
function's environment from it (`to_env`); locally the fields default to values that work from a
clone of the repository.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from inference.package import GRAPH_FILES, Backend, Variant
from inference.schema import DEFAULT_MAX_IMAGE_PIXELS, Limits

# Lambda gives a function one vCPU's worth of CPU time per 1769 MB of memory, and at most 6 vCPUs.
LAMBDA_MB_PER_VCPU = 1769
LAMBDA_MAX_VCPUS = 6
# Lambda refuses synchronous request payloads over 6 MB.
LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024
# The demo classifier's package in a clone of the repository (the image sets MODEL_DIR).
REPO_MODEL_DIR = Path(__file__).resolve().parents[2] / "model_artifacts" / "transaction-classifier"
# Powertools publishes the handler's metrics (ColdStart, Latency, ...) under this namespace.
METRICS_NAMESPACE = "PytorchLambdaApi"
# The runtime's own variables start with one of these, so an unknown one (a typo, a renamed
# setting) is refused at init rather than ignored. (TORCH_THREADS is ours too, but TORCH_ is
# torch's prefix: TORCH_HOME, TORCH_LOGS, ...)
RESERVED_PREFIXES = ("MODEL_", "MAX_", "DEFAULT_", "CORS_")
# PIL.Image.MAX_IMAGE_PIXELS, above which Pillow warns of a decompression bomb (not imported here:
# text images need no Pillow at init).
PILLOW_MAX_IMAGE_PIXELS = 89_478_485
# Lambda sets these from the function's configuration; the stack never writes them.
SET_BY_LAMBDA = frozenset({"lambda_memory_mb"})
ORIGIN = re.compile(r"\*|https?://[^\s/,]+")


def _from_text(convert: Callable[[str], object], spelling: str, kind: str) -> Callable[[object], object]:
    """A validator of a JSON value of this kind, or of its spelling in a string (as `-c key=value`
    and environment variables give it): never a bool, which pydantic would take as 0 or 1."""

    def parse(value: object) -> object:
        if isinstance(value, bool):
            raise PydanticCustomError(f"{kind}_type", f"Input should be a valid {kind}")
        if isinstance(value, str):
            if not re.fullmatch(spelling, value.strip()):
                raise PydanticCustomError(f"{kind}_parsing", f"Input should be a valid {kind}, unable to parse string")
            return convert(value.strip())
        return value

    return parse


whole_number = _from_text(int, r"-?\d+", "integer")
# A plain decimal: float() alone would also take "nan", "inf" and "1e400".
decimal_number = _from_text(float, r"-?\d+(?:\.\d+)?", "number")


def _origins(value: object) -> object:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        return value
    origins = tuple(str(item).strip() for item in items if str(item).strip())
    if not all(ORIGIN.fullmatch(origin) for origin in origins):
        raise PydanticCustomError("origin", "Input should be origins like https://example.com, or *")
    return origins


# Integers and numbers as a setting's value: JSON's, or the decimal strings the command line gives.
WholeNumber = Annotated[int, BeforeValidator(whole_number)]
DecimalNumber = Annotated[float, BeforeValidator(decimal_number)]
Origins = Annotated[
    tuple[str, ...],
    BeforeValidator(_origins),
    Field(description='comma-separated origins like https://example.com, or "*", or empty for no CORS'),
]


class Settings(BaseModel):
    """Everything the handler can be configured with. Field aliases are the env var names."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    model_dir: Path = Field(REPO_MODEL_DIR, alias="MODEL_DIR")
    # The package's name in the API's routes (POST /models/<name>/predict): its folder's name
    # under model_artifacts/, which the stack passes (the image's folder is named otherwise).
    model_name: str | None = Field(None, alias="MODEL_NAME")
    max_text_chars: WholeNumber = Field(1000, ge=1, le=100_000, alias="MAX_TEXT_CHARS")
    max_batch: WholeNumber = Field(64, ge=1, le=1024, alias="MAX_BATCH")
    # A request's body, and an image package's encoded image: at most what Lambda accepts.
    max_body_bytes: WholeNumber = Field(262144, ge=1, le=LAMBDA_PAYLOAD_LIMIT, alias="MAX_BODY_BYTES")
    # Image packages: an image whose header claims more pixels is refused before it is decoded (a
    # few hundred bytes of PNG can claim gigabytes). At most Pillow's own warning threshold.
    max_image_pixels: WholeNumber = Field(
        DEFAULT_MAX_IMAGE_PIXELS, ge=1, le=PILLOW_MAX_IMAGE_PIXELS, alias="MAX_IMAGE_PIXELS"
    )
    default_top_k: WholeNumber = Field(3, ge=1, le=100, alias="DEFAULT_TOP_K")
    # text-classification (single-label): "label" is null under this top score unless a request
    # sends its own min_score; 0 answers every label.
    default_min_score: DecimalNumber = Field(0.0, ge=0, le=1, alias="DEFAULT_MIN_SCORE")
    # 0 derives the thread count from memory (resolved_torch_threads).
    torch_threads: WholeNumber = Field(0, ge=0, le=LAMBDA_MAX_VCPUS, alias="TORCH_THREADS")
    # fp32, or int8 (faster, a little less accurate: the numbers are in benchmarks/results/).
    model_variant: Variant = Field("fp32", alias="MODEL_VARIANT")
    # torch (model.pt), or onnx: model.onnx on ONNX Runtime, for the image built without torch
    # (BACKEND=onnx in lambda_image/Dockerfile), which starts faster (benchmarks/results/).
    model_backend: Backend = Field("torch", alias="MODEL_BACKEND")
    lambda_memory_mb: WholeNumber | None = Field(None, ge=1, alias="AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    # The logs' and metrics' service: the stack sets the package's name; locally, the route name.
    service_name: str | None = Field(None, alias="POWERTOOLS_SERVICE_NAME")
    metrics_namespace: str = Field(METRICS_NAMESPACE, alias="POWERTOOLS_METRICS_NAMESPACE")
    # Origins a browser may read answers from ("*": any); empty: no CORS headers.
    cors_allow_origins: Origins = Field((), alias="CORS_ALLOW_ORIGINS")

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_variable_of_ours(cls, data: object) -> object:
        if isinstance(data, Mapping):
            own = sorted(field.alias for field in cls.model_fields.values() if field.alias)  # every field has one
            for name in sorted(key for key in data if str(key).startswith(RESERVED_PREFIXES) and key not in own):
                close = difflib.get_close_matches(name, own, n=1)
                hint = f"did you mean {close[0]}?" if close else "the runtime's variables: " + ", ".join(own)
                raise ValueError(f"{name} is not a setting of the runtime ({hint})")
        return data

    @model_validator(mode="after")
    def _a_graph_serves_the_backend_and_variant(self, info: ValidationInfo) -> Settings:
        """The one place that says which variants a backend serves: GRAPH_FILES, the graphs there are."""
        if (self.model_backend, self.model_variant) not in GRAPH_FILES:
            served = " and ".join(variant for backend, variant in GRAPH_FILES if backend == self.model_backend)
            backend, variant = self.name_of("model_backend", info), self.name_of("model_variant", info)
            raise ValueError(
                f"{backend}={self.model_backend} with {variant}={self.model_variant} is not allowed: "
                f"the {self.model_backend} backend serves {served} only"
            )
        return self

    @classmethod
    def name_of(cls, field: str, info: ValidationInfo | None = None) -> str:
        """A field's name in messages: its variable's, or the reader's own name for it (validation
        context "names", as the deployment's settings give it)."""
        names: Mapping[str, str] = (info.context or {}).get("names", {}) if info else {}
        return names.get(field) or cls.model_fields[field].alias or field

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Self:
        """Read the settings; a bad value raises pydantic.ValidationError naming the variable."""
        return cls.model_validate(dict(environ))

    def to_env(self) -> dict[str, str]:
        """The variables from_env reads these settings back from (but those Lambda sets itself)."""
        return {
            field.alias or name: _variable(getattr(self, name))
            for name, field in type(self).model_fields.items()
            if name not in SET_BY_LAMBDA and getattr(self, name) is not None
        }

    @property
    def route_name(self) -> str:
        return self.model_name or self.model_dir.name

    @property
    def limits(self) -> Limits:
        return Limits(
            max_text_chars=self.max_text_chars,
            max_batch=self.max_batch,
            max_image_bytes=self.max_body_bytes,
            max_image_pixels=self.max_image_pixels,
        )

    @property
    def resolved_torch_threads(self) -> int:
        """TORCH_THREADS if set; else one per vCPU Lambda grants for the memory; else every local core."""
        if self.torch_threads:
            return self.torch_threads
        if self.lambda_memory_mb:
            return max(1, self.lambda_memory_mb // LAMBDA_MB_PER_VCPU)
        return os.cpu_count() or 1


def _variable(value: Any) -> str:
    """A setting's value as an environment variable's text (a list: comma-separated)."""
    return ",".join(value) if isinstance(value, tuple) else str(value)
