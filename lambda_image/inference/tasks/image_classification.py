"""image-classification: a label for an image, with scores (docs/api.md).

A request is `{"image": "<base64 PNG or JPEG>"}` or `{"images": [...]}` (1..MAX_BATCH), with an
optional top_k; through API Gateway the body may be the image itself (Content-Type image/png or
image/jpeg; inference/events.py). Each image is decoded while the request is validated, so an image
that cannot be served never reaches the model: over MAX_BODY_BYTES encoded or MAX_IMAGE_PIXELS
claimed by its header (checked before a pixel is decoded) is a 413; not base64, not PNG or JPEG,
truncated or corrupt is a 400. Then it becomes what the package's card says its graph takes
(package.py ImageInput): orientation from EXIF, alpha over white paper, the card's mode, resized with
a box filter, scaled to 0..1, inverted if asked, normalized.
"""

from __future__ import annotations

import base64
import io
import warnings
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Self

import numpy as np
import pydantic_core
from PIL import Image, ImageOps
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator

from inference.graphs import load_graph
from inference.package import CARD_LABELS_RULE, ImageInput, ModelPackage, PackageError
from inference.schema import Limits, ModelInfo, PositiveJsonInt, StrictRequest, json_int
from inference.settings import Settings
from inference.tasks.base import Task
from inference.tasks.scoring import LabelScore, classifications, softmax

# Pillow opens only these; GIF, BMP, TIFF, WebP, ... are refused without a look at their parsers.
FORMATS = ["PNG", "JPEG"]
# Images run through the network this many at a time: a batch of large inputs never needs one
# pass of MAX_BATCH of them.
FORWARD_CHUNK = 16
# docs/examples/digit-7.png: a held-out 7 of the digits demo (training/digits.py), 186 bytes.
EXAMPLE_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAAAAABWESUoAAAAgUlEQVR42sXTQQ3CYAyG4ecnCJgFHEwCDkDCULDMATgYCsABEpAAEiYBB3BY"
    "l5BdOJB0vbRpmnxvm6/lbYweZwy4YR/9lR/x/0CZGAq2eKLGPY9hPRWP0N5EtgDDgC7yFS9cEhlOOEajRosm+Q672Luf6Wd78vD1E9WCfmhn"
    "+kkMHw9MFfKB4VRhAAAAAElFTkSuQmCC"
)


@dataclass(frozen=True)
class DecodedImage:
    """An image of a request, ready for the graph: [channels, height, width] float32; and how many
    bytes it was encoded in (the log line counts them; the image is never logged)."""

    pixels: np.ndarray
    encoded_bytes: int


def _refuse(kind: str, message: str, **context: Any) -> pydantic_core.PydanticCustomError:
    return pydantic_core.PydanticCustomError(kind, message, context)


def decode(encoded: str, spec: ImageInput, limits: Limits) -> DecodedImage:
    """A base64 PNG or JPEG as the graph takes it; PydanticCustomError (400 or 413) if it cannot be."""
    try:
        # White space is dropped first: `base64` and MIME wrap their lines.
        raw = base64.b64decode("".join(encoded.split()), validate=True)
    except ValueError:  # binascii.Error, or a character outside ASCII
        raise _refuse("invalid_image", "not valid base64") from None
    if len(raw) > limits.max_image_bytes:
        raise _refuse(
            "image_too_large",
            "{size} bytes, over the limit of {limit} bytes",
            size=len(raw),
            limit=limits.max_image_bytes,
        )
    too_many_pixels = "{width}x{height} pixels, over the limit of {limit} pixels"
    try:
        # Image.open reads the header only. Pillow's own decompression-bomb check raises past twice
        # its limit and warns past it; both are over ours (Settings caps MAX_IMAGE_PIXELS there).
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(
            "image_too_large", "more pixels than the limit of {limit}", limit=limits.max_image_pixels
        ) from None
    except Exception:  # whatever the parsers raise on hostile bytes, the bytes are at fault
        raise _refuse("invalid_image", "not a PNG or JPEG image") from None
    width, height = image.size
    if width * height > limits.max_image_pixels:
        raise _refuse("image_too_large", too_many_pixels, width=width, height=height, limit=limits.max_image_pixels)
    try:
        pixels = _pixels(image, spec)
    except Exception:  # truncated or corrupt data (Pillow's LOAD_TRUNCATED_IMAGES stays off)
        raise _refuse("invalid_image", "a truncated or corrupt {format} image", format=image.format) from None
    return DecodedImage(pixels, len(raw))


def _pixels(image: Image.Image, spec: ImageInput) -> np.ndarray:
    if image.format == "JPEG":
        # A JPEG much larger than the input decodes at 1/2..1/8 scale: less time and memory, the
        # same pixels after the box filter. Square, so that a rotation by EXIF leaves enough of both sides.
        side = max(spec.width, spec.height)
        image.draft(spec.mode, (side, side))
    image.load()  # the first frame of an animated PNG; raises on truncated data
    ImageOps.exif_transpose(image, in_place=True)
    image = _in_mode(image, spec.mode).resize((spec.width, spec.height), Image.Resampling.BOX)
    array = np.asarray(image, dtype=np.float32) / 255
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    if spec.invert:
        array = 1 - array
    mean = np.array(spec.mean, dtype=np.float32)[:, None, None]
    std = np.array(spec.std, dtype=np.float32)[:, None, None]
    return (array - mean) / std


def _in_mode(image: Image.Image, mode: str) -> Image.Image:
    """`image` in mode L or RGB: 16-bit gray scaled (Pillow's convert would clip it at 255), and
    transparent pixels on white, as a page would show them."""
    if image.mode.startswith("I"):
        image = image.convert("I").point(lambda value: value / 257).convert("L")
    if image.has_transparency_data:
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA"))
    return image.convert(mode)


class ImageRequest(StrictRequest):
    """`image` or `images`, exactly one, and top_k."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["image"]}, {"required": ["images"]}]})

    image: str | None = None
    images: list[str] | None = None
    top_k: PositiveJsonInt | None = Field(None, description="how many labels to rank (default 3)")

    @model_validator(mode="after")
    def _exactly_one_of_image_and_images(self) -> Self:
        if (self.image is None) == (self.images is None):
            raise pydantic_core.PydanticCustomError("image_xor_images", 'give exactly one of "image" or "images"')
        return self

    @property
    def batch(self) -> list[DecodedImage]:
        """The images, decoded: the wire contract's base64 strings become DecodedImage while the
        request is validated (ImageClassification.request_model_for)."""
        sent: list[Any] = self.images if self.images is not None else [self.image]
        decoded = [image for image in sent if isinstance(image, DecodedImage)]
        assert len(decoded) == len(sent), "a request validated by request_model_for holds decoded images"
        return decoded

    @property
    def is_batch(self) -> bool:
        return self.images is not None


class ImagePrediction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(description="the highest-scoring label")
    score: float
    top_k: list[LabelScore] = Field(description="the top_k labels, highest first")


class ImageClassificationAnswer(ImagePrediction):
    model: ModelInfo


class ImageClassificationBatchAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    predictions: list[ImagePrediction] = Field(description="one per image, in input order")
    model: ModelInfo


class ImageClassification(Task):
    name = "image-classification"
    request = ImageRequest
    single = ImageClassificationAnswer
    batch = ImageClassificationBatchAnswer
    example: ClassVar[dict[str, Any]] = {"image": EXAMPLE_PNG}
    # API Gateway passes these base64-encoded when the API's binaryMediaTypes lists them.
    binary_media_types = ("image/png", "image/jpeg")
    counts = ("images", "bytes")

    def __init__(self, package: ModelPackage, settings: Settings) -> None:
        super().__init__(package, settings)
        path = str(package.graph(settings.model_backend, settings.model_variant))
        self.graph = load_graph(path, settings.model_backend, settings.resolved_torch_threads)
        self.labels = package.labels
        self.default_top_k = min(settings.default_top_k, len(self.labels))

    @classmethod
    def check(cls, package: ModelPackage) -> None:
        if not package.labels:  # the property checks the card's labels
            raise PackageError(f"{package.directory}/model_card.json: {CARD_LABELS_RULE}")
        package.image  # noqa: B018  # the property checks the card's "image"

    @classmethod
    def request_model_for(cls, package: ModelPackage, limits: Limits) -> type[BaseModel]:
        """The request with this package's input and the deployment's limits: each image is decoded
        (or refused) while the request is validated."""
        spec = package.image
        image = Annotated[
            str,
            Field(
                min_length=1,
                description=f"a PNG or JPEG image, base64-encoded: at most {limits.max_image_bytes} bytes and "
                f"{limits.max_image_pixels} pixels",
                json_schema_extra={"contentEncoding": "base64"},
            ),
            AfterValidator(lambda value: decode(value, spec, limits)),
        ]
        images = Annotated[
            list[image],
            Field(min_length=1, max_length=limits.max_batch, description=f"1 to {limits.max_batch} images"),
        ]
        top_k = json_int(ge=1, le=len(package.labels))
        return create_model(
            ImageRequest.__name__,
            __base__=ImageRequest,
            __module__=ImageRequest.__module__,
            image=(image | None, None),
            images=(images | None, None),
            top_k=(top_k | None, Field(None, description="how many labels to rank (default 3)")),
        )

    @classmethod
    def binary_request(cls, raw: bytes) -> dict[str, Any]:
        return {"image": base64.b64encode(raw).decode("ascii")}

    def input_counts(self, request: ImageRequest) -> dict[str, int]:
        images = request.batch
        return {"images": len(images), "bytes": sum(image.encoded_bytes for image in images)}

    def answer(self, request: ImageRequest) -> BaseModel:
        pixels = np.stack([image.pixels for image in request.batch])
        logits = np.concatenate(
            [self.graph(pixels[start : start + FORWARD_CHUNK]) for start in range(0, len(pixels), FORWARD_CHUNK)]
        )
        predictions = classifications(softmax(logits), self.labels, request.top_k or self.default_top_k)
        body = {"predictions": predictions} if request.is_batch else predictions[0]
        return self.answer_of(body, request.is_batch)
