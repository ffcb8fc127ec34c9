"""Runtime settings: one frozen, validated object built from environment variables once at init.

The stack sets these variables on the function (infra/constructs/model_function.py);
locally they default to values that work from a clone of the repository.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, NonNegativeInt, PositiveInt, model_validator

from inference.package import Backend, Variant
from inference.schema import DEFAULT_MAX_IMAGE_PIXELS, Limits

# Lambda gives a function one vCPU's worth of CPU time per 1769 MB of memory.
LAMBDA_MB_PER_VCPU = 1769
# The demo classifier's package in a clone of the repository (the image sets MODEL_DIR).
REPO_MODEL_DIR = Path(__file__).resolve().parents[2] / "model_artifacts" / "transaction-classifier"
# The runtime's own variables start with one of these, so an unknown one (a typo, a renamed
# setting) is refused at init rather than ignored. (TORCH_THREADS is ours too, but TORCH_ is
# torch's prefix: TORCH_HOME, TORCH_LOGS, ...)
RESERVED_PREFIXES = ("MODEL_", "MAX_", "DEFAULT_", "CORS_")
# PIL.Image.MAX_IMAGE_PIXELS, above which Pillow warns of a decompression bomb (not imported here:
# text images need no Pillow at init).
PILLOW_MAX_IMAGE_PIXELS = 89_478_485


def _comma_separated(value: object) -> object:
    return tuple(item.strip() for item in value.split(",") if item.strip()) if isinstance(value, str) else value


class Settings(BaseModel):
    """Everything the handler can be configured with. Field aliases are the env var names."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    model_dir: Path = Field(REPO_MODEL_DIR, alias="MODEL_DIR")
    # The package's name in the API's routes (POST /models/<name>/predict): its folder's name
    # under model_artifacts/, which the stack passes (the image's folder is named otherwise).
    model_name: str | None = Field(None, alias="MODEL_NAME")
    max_text_chars: PositiveInt = Field(1000, alias="MAX_TEXT_CHARS")
    max_batch: PositiveInt = Field(64, alias="MAX_BATCH")
    max_body_bytes: PositiveInt = Field(262144, alias="MAX_BODY_BYTES")
    # Image packages: an image whose header claims more pixels is refused before it is decoded (a
    # few hundred bytes of PNG can claim gigabytes). At most Pillow's own warning threshold.
    max_image_pixels: Annotated[int, Field(ge=1, le=PILLOW_MAX_IMAGE_PIXELS)] = Field(
        DEFAULT_MAX_IMAGE_PIXELS, alias="MAX_IMAGE_PIXELS"
    )
    default_top_k: PositiveInt = Field(3, alias="DEFAULT_TOP_K")
    # text-classification (single-label): "label" is null under this top score unless a request
    # sends its own min_score; 0 answers every label.
    default_min_score: float = Field(0.0, ge=0, le=1, alias="DEFAULT_MIN_SCORE")
    torch_threads: NonNegativeInt = Field(0, alias="TORCH_THREADS")
    # fp32, or int8: the package's model.int8.pt (docs/models.md); the numbers are in benchmarks/.
    model_variant: Variant = Field("fp32", alias="MODEL_VARIANT")
    # torch (model.pt), or onnx: model.onnx on ONNX Runtime, for the image built without torch
    # (BACKEND=onnx in lambda_image/Dockerfile); fp32 only.
    model_backend: Backend = Field("torch", alias="MODEL_BACKEND")
    lambda_memory_mb: PositiveInt | None = Field(None, alias="AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    # The logs' and metrics' service: the stack sets the package's name; locally, the route name.
    service_name: str | None = Field(None, alias="POWERTOOLS_SERVICE_NAME")
    metrics_namespace: str = Field("PytorchLambdaApi", alias="POWERTOOLS_METRICS_NAMESPACE")
    # Origins a browser may read answers from ("*": any); empty: no CORS headers.
    cors_allow_origins: Annotated[tuple[str, ...], BeforeValidator(_comma_separated)] = Field(
        (), alias="CORS_ALLOW_ORIGINS"
    )

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
    def _onnx_serves_fp32_only(self) -> Settings:
        if self.model_backend == "onnx" and self.model_variant != "fp32":
            raise ValueError(f"MODEL_VARIANT={self.model_variant} is not available with MODEL_BACKEND=onnx (fp32 only)")
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read the settings; a bad value raises pydantic.ValidationError naming the variable."""
        return cls.model_validate(dict(environ))

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
