"""The image-classification task with the real digits demo package (training/digits.py): every way
an image arrives, every mode it may be in, the package's card checked, and its accuracy recomputed
through the runtime."""

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from inference.package import PackageError
from inference.runtime import Runtime
from inference.schema import Limits, RequestError, validate
from inference.settings import REPO_MODEL_DIR, Settings
from inference.tasks import image_classification, read_package
from tests.images import JPEG_7, PNG_7, animated_png, b64, binary_events, encoded, seven, sevens
from tests.lambda_events import http_answer, rest_event
from training import digits

DIGITS = REPO_MODEL_DIR.parent / "digits"


@pytest.fixture
def digits_served(serve_task):
    return serve_task("image-classification")


@pytest.fixture(scope="module")
def held_out():
    """The trainer's held-out split: 8x8 ink levels 0..16 and their labels."""
    _, _, images, labels = digits.split()
    return images, labels


def test_a_png_or_jpeg_body_through_either_api_gateway_is_classified(invoke, digits_served):
    for raw, content_type in ((PNG_7, "image/png"), (JPEG_7, "image/jpeg"), (PNG_7, "image/png; charset=binary")):
        for event in binary_events(raw, content_type):
            status, body = http_answer(invoke(event))
            assert (status, body["label"]) == (200, "7")
            assert set(body) == {"label", "score", "top_k", "model"}
            assert body["top_k"][0] == {"label": "7", "score": body["score"]} and len(body["top_k"]) == 3
            assert body["model"] == {"name": "digits", "version": "1.0.0"}


def test_the_models_own_route_takes_the_image_too(invoke, digits_served):
    [rest, _] = binary_events(PNG_7, path="/models/digits/predict")
    status, body = http_answer(invoke(rest))
    assert (status, body["label"]) == (200, "7")


def test_a_json_body_or_a_direct_invocation_carries_the_image_base64_encoded(invoke, digits_served):
    request = {"image": b64(JPEG_7), "top_k": 1}
    status, body = http_answer(invoke(rest_event(json.dumps(request), headers={"Content-Type": "application/json"})))
    direct = invoke(request)
    assert status == 200 and body == direct
    assert direct["label"] == "7" and len(direct["top_k"]) == 1


def test_base64_wrapped_in_lines_as_the_base64_tool_writes_it_is_read(invoke, digits_served):
    text = b64(JPEG_7)
    wrapped = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    assert invoke({"image": wrapped})["label"] == "7"


def test_a_batch_of_images_is_answered_in_input_order(invoke, digits_served, held_out):
    images, labels = held_out
    picks = [int(np.flatnonzero(labels == digit)[0]) for digit in (3, 7, 0)]
    pngs = [b64(encoded(digits.render(images[i]))) for i in picks]
    forward = invoke({"images": pngs, "top_k": 2})
    backward = invoke({"images": pngs[::-1]})
    assert set(forward) == {"predictions", "model"}
    assert [p["label"] for p in forward["predictions"]] == ["3", "7", "0"]
    assert [p["label"] for p in backward["predictions"]] == ["0", "7", "3"]
    assert all(len(p["top_k"]) == 2 and "model" not in p for p in forward["predictions"])


@pytest.mark.parametrize(("name", "raw"), list(sevens().items()), ids=list(sevens()))
def test_every_mode_and_container_of_the_same_digit_gives_the_same_digit(invoke, digits_served, name, raw):
    answer = invoke({"image": b64(raw)})
    assert answer["label"] == "7", (name, answer)
    assert answer["score"] > 0.9


@pytest.mark.parametrize("name", ["png-rgb", "png-16-bit-gray", "png-transparent-background", "png-gray-alpha"])
def test_lossless_encodings_of_the_digit_give_the_graph_the_same_pixels(name):
    """16-bit gray scaled, not clipped at 255; ink on a transparent sheet laid on white paper."""
    spec = read_package(DIGITS).image
    limits = Limits(1000, 64)
    pixels = image_classification.decode(b64(sevens()[name]), spec, limits).pixels
    reference = image_classification.decode(b64(PNG_7), spec, limits).pixels
    np.testing.assert_allclose(pixels, reference, atol=1.01 / 255 / spec.std[0])


def test_the_runtime_sees_the_pixels_the_model_was_trained_on(held_out):
    """Rendered dark on light at any size, a held-out digit comes back as its ink levels (within
    PNG's 8 bits), normalized as the card says."""
    images, _ = held_out
    package = read_package(DIGITS)
    spec = package.image
    for scale in (1, 3):
        decoded = image_classification.decode(b64(encoded(digits.render(images[0], scale))), spec, Limits(1000, 64))
        expected = (images[0] / digits.INK_LEVELS - spec.mean[0]) / spec.std[0]
        assert decoded.pixels.shape == (1, 8, 8)
        np.testing.assert_allclose(decoded.pixels[0], expected, atol=0.5 / 255 / spec.std[0] + 1e-6)


def test_an_animated_png_is_classified_by_its_first_frame(invoke, digits_served, held_out):
    images, labels = held_out
    three = digits.render(images[int(np.flatnonzero(labels == 3)[0])])
    assert invoke({"image": b64(animated_png(seven(), three))})["label"] == "7"
    assert invoke({"image": b64(animated_png(three, seven()))})["label"] == "3"


def test_held_out_accuracy_written_by_the_trainer_is_at_least_97_percent_in_either_polarity():
    metrics = read_package(DIGITS).card["metrics"]
    assert metrics["held_out_images"] == 360
    for polarity in ("", "_light_on_dark"):
        for variant in ("", "_int8", "_onnx"):
            assert metrics[f"held_out_accuracy{polarity}{variant}"] >= 0.97, (polarity, variant)


@pytest.mark.parametrize("light_on_dark", [False, True], ids=["dark-on-light", "light-on-dark"])
@pytest.mark.parametrize(("backend", "variant"), [("torch", "fp32"), ("torch", "int8"), ("onnx", "fp32")])
def test_held_out_accuracy_recomputed_through_the_runtime_from_png_files(
    held_out, task_runtimes, backend, variant, light_on_dark
):
    """Every held-out digit rendered as a PNG, sent in batches of 64: dark ink on light paper, as a
    scan, or light on dark, as scikit-learn's digits and MNIST are drawn."""
    images, labels = held_out
    if (backend, variant) == ("torch", "fp32"):
        runtime = task_runtimes["image-classification"]
    else:
        runtime = Runtime.load(Settings(MODEL_DIR=str(DIGITS), MODEL_BACKEND=backend, MODEL_VARIANT=variant))
    predicted = []
    for start in range(0, len(images), 64):
        pngs = [b64(encoded(digits.render(image, light_on_dark=light_on_dark))) for image in images[start : start + 64]]
        predicted += [p["label"] for p in runtime.answer({"images": pngs}).body["predictions"]]
    accuracy = float(np.mean([p == str(label) for p, label in zip(predicted, labels, strict=True)]))
    metric = "held_out_accuracy" + ("_light_on_dark" if light_on_dark else "") + ("_int8" if variant == "int8" else "")
    assert accuracy >= 0.97
    assert accuracy == pytest.approx(runtime.package.card["metrics"][metric], abs=0.006)


def test_a_light_on_dark_seven_is_a_seven_as_the_dark_on_light_one_is(invoke, digits_served):
    light_on_dark = encoded(Image.eval(seven(), lambda value: 255 - value))
    for raw in (PNG_7, light_on_dark):
        status, body = http_answer(invoke(binary_events(raw, "image/png")[0]))
        assert (status, body["label"]) == (200, "7") and body["score"] > 0.9


def test_both_backends_give_the_same_scores(task_runtimes):
    onnx = Runtime.load(Settings(MODEL_DIR=str(DIGITS), MODEL_BACKEND="onnx"))
    torch = task_runtimes["image-classification"]
    images = [b64(raw) for raw in sevens().values()]
    logits = [
        runtime.task.graph(
            np.stack([image.pixels for image in validate(runtime.task.request_model, {"images": images}).batch])
        )
        for runtime in (torch, onnx)
    ]
    np.testing.assert_allclose(logits[0], logits[1], atol=1e-4)


def test_the_contracts_example_is_the_documented_held_out_seven(held_out):
    images, labels = held_out
    assert image_classification.ImageClassification.example == {"image": b64(PNG_7)}
    example = np.asarray(Image.open(io.BytesIO(PNG_7)))
    assert any(np.array_equal(example, np.asarray(digits.render(image))) for image in images[labels == 7])


def test_the_image_cap_is_checked_from_the_header_before_any_pixel_is_decoded(monkeypatch):
    package = read_package(DIGITS)
    model = image_classification.ImageClassification.request_model_for(
        package, Limits(1000, 64, max_image_bytes=10_000, max_image_pixels=32 * 32 - 1)
    )

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded pixels of an image over the cap")

    monkeypatch.setattr(image_classification, "_pixels", no_decoding)
    with pytest.raises(RequestError) as refused:
        validate(model, {"image": b64(PNG_7)})
    assert (refused.value.status, refused.value.code) == (413, "image_too_large")
    assert refused.value.message == "image: 32x32 pixels, over the limit of 1023 pixels"


def test_the_log_line_counts_images_and_bytes_and_never_carries_the_image(invoke, digits_served, handler_log, capsys):
    invoke({"images": [b64(PNG_7), b64(JPEG_7)]})
    invoke(binary_events(b"GIF89a" + PNG_7, "image/png")[0])
    lines = [json.loads(line) for line in handler_log.getvalue().splitlines()]
    assert [(line["status"], line["images"], line["bytes"], line["labels"]) for line in lines] == [
        (200, 2, len(PNG_7) + len(JPEG_7), ["7", "7"]),
        (400, 0, 0, []),
    ]
    assert lines[1]["error_code"] == "invalid_image" and "texts" not in lines[0]
    written = handler_log.getvalue() + capsys.readouterr().out
    assert b64(PNG_7)[:24] not in written and b64(JPEG_7)[:24] not in written


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"labels": []}, "labels must be a non-empty list of distinct, non-empty strings"),
        ({"labels": ["a", "a"]}, "labels must be a non-empty list of distinct, non-empty strings"),
        ({"image": None}, "image must be an object {width, height, mode, invert, mean, std}"),
        ({"image": {"width": 0}}, "image.width must be an integer from 1 to 1024"),
        ({"image": {"mode": "CMYK"}}, 'image.mode must be "L" (gray) or "RGB"'),
        ({"image": {"invert": "yes"}}, "image.invert must be true"),
        ({"image": {"mean": [0.1, 0.2]}}, "image.mean must be a list of 1 numbers, one per channel of mode L"),
        ({"image": {"mode": "RGB"}}, "image.mean must be a list of 3 numbers, one per channel of mode RGB"),
        ({"image": {"std": [0]}}, "image.std must be a list of 1 positive numbers"),
    ],
)
def test_a_card_the_runtime_cannot_serve_is_refused_with_one_line_naming_the_field(tmp_path, change, message):
    card = json.loads((DIGITS / "model_card.json").read_text())
    for key, value in change.items():
        card[key] = {**card[key], **value} if isinstance(value, dict) else value
    folder = tmp_path / "digits"
    shutil.copytree(DIGITS, folder)
    (folder / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(PackageError) as refused:
        read_package(folder)
    assert str(refused.value).startswith(f"{folder}/model_card.json: {message}")
    assert "\n" not in str(refused.value)


def test_a_missing_graph_is_refused_at_load_naming_the_file(tmp_path):
    folder = tmp_path / "digits"
    shutil.copytree(DIGITS, folder)
    (folder / "model.onnx").unlink()
    with pytest.raises(PackageError, match="model.onnx is missing"):
        Runtime.load(Settings(MODEL_DIR=str(folder), MODEL_BACKEND="onnx"))
