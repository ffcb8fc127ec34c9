"""Images for the image-classification tests: the docs' examples (a held-out 7 of the digits demo),
the same digit in every mode and container the runtime converts, and hostile files made byte by byte."""

import base64
import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from tests.lambda_events import http_v2_event, rest_event

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
PNG_7 = (EXAMPLES / "digit-7.png").read_bytes()
JPEG_7 = (EXAMPLES / "digit-7.jpg").read_bytes()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def encoded(image: Image.Image, format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def seven() -> Image.Image:
    """The example 7, dark ink on light paper, 32x32 gray."""
    return Image.open(io.BytesIO(PNG_7)).convert("L")


def sevens() -> dict[str, bytes]:
    """The example 7 in every mode and container the runtime must bring back to the same digit."""
    gray = seven()
    ink = Image.eval(gray, lambda value: 255 - value)  # ink as opacity: a transparent sheet with dark ink
    on_clear = Image.merge("RGBA", (*Image.new("RGB", gray.size, "black").split(), ink))
    sixteen_bit = Image.fromarray(np.asarray(gray, dtype=np.uint16) * 257)
    rotated = gray.rotate(-90, expand=True)  # stored turned clockwise; EXIF orientation 8 turns it back
    exif = Image.Exif()
    exif[0x0112] = 8
    return {
        "png-gray": PNG_7,
        "jpeg-gray": JPEG_7,
        "png-rgb": encoded(gray.convert("RGB")),
        "png-palette": encoded(gray.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=16)),
        "png-1-bit": encoded(gray.point(lambda value: 255 if value > 128 else 0).convert("1")),
        "png-16-bit-gray": encoded(sixteen_bit),
        "png-transparent-background": encoded(on_clear),
        "png-gray-alpha": encoded(on_clear.convert("LA")),
        "png-palette-transparent": encoded(on_clear.convert("P", palette=Image.Palette.ADAPTIVE)),
        "jpeg-rgb-large": encoded(gray.resize((256, 256), Image.Resampling.NEAREST).convert("RGB"), "JPEG", quality=85),
        "jpeg-cmyk": encoded(gray.convert("RGB").convert("CMYK"), "JPEG", quality=95),
        "jpeg-exif-rotated": encoded(rotated, "JPEG", quality=95, exif=exif),
        "png-with-bytes-appended": PNG_7 + b"PK\x03\x04" + bytes(64),  # a PNG/ZIP polyglot: the PNG is read
    }


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A valid-looking gray PNG of a few dozen bytes whose header claims width x height pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(bytes(width + 1)))
        + png_chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """The example JPEG with the size in its frame header (SOF0) replaced."""
    start = JPEG_7.index(b"\xff\xc0") + 5  # marker, length (2), precision (1), then height, width
    return JPEG_7[:start] + struct.pack(">HH", height, width) + JPEG_7[start + 4 :]


def png_with_corrupt_pixels() -> bytes:
    """The example PNG with its compressed pixels replaced by bytes that are no zlib stream (CRC right)."""
    start = PNG_7.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", PNG_7[start : start + 4])
    end = start + 12 + length
    return PNG_7[:start] + png_chunk(b"IDAT", b"\x00" * length) + PNG_7[end:]


def png_with_text_bomb() -> bytes:
    """A zTXt chunk that inflates to 64 MB ahead of the example's pixels."""
    bomb = png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(bytes(64 << 20), 9))
    return PNG_7[:33] + bomb + PNG_7[33:]


def animated_png(*frames: Image.Image) -> bytes:
    return encoded(frames[0], save_all=True, append_images=list(frames[1:]), duration=100)


def binary_events(raw: bytes, content_type: str = "image/png", path: str = "/predict") -> list[dict]:
    """The image as the body, as API Gateway sends a binary media type: REST (v1) and HTTP API (v2)."""
    headers = {"Content-Type": content_type}
    return [
        rest_event(b64(raw), headers=headers, is_base64=True, path=path),
        http_v2_event(b64(raw), headers={"content-type": content_type}, is_base64=True, path=path),
    ]
