"""The curl examples in README.md and docs/api.md show what the API answers: each one, sent to the
handler with the real model as the local server would send it, gets the documented answer
(labels exactly, scores to within 0.01, errors by code and message; request ids differ). The image
examples (`--data-binary @file`, the digits package) are sent as the local server sends a binary
body: base64, isBase64Encoded."""

import json
import re
from pathlib import Path

import pytest

from tests.images import b64
from tests.lambda_events import http_answer, rest_event

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO / "README.md", REPO / "docs" / "api.md"]
RIE_PATH = "/2015-03-31/functions/function/invocations"
# `$ curl -s localhost:3000<path> [-H '...'] -d '<body>'`, then the answer on the next line.
EXAMPLE = re.compile(
    r"^\$ curl -s localhost:3000(?P<path>\S+)(?: -H '[^']*')* -d '(?P<body>[^']*)'\n(?P<answer>\{.*)$", re.M
)


# `$ curl -s localhost:3000<path> -H 'Content-Type: <type>' --data-binary @<file>`, then the answer.
IMAGE_EXAMPLE = re.compile(
    r"^\$ curl -s localhost:3000(?P<path>\S+) -H 'Content-Type: (?P<type>[^']+)' --data-binary "
    r"@(?P<file>\S+)\n(?P<answer>\{.*)$",
    re.M,
)


def documented_examples() -> list:
    return [
        pytest.param(
            match["path"], match["body"], json.loads(match["answer"]), id=f"{document.name}:{match['body'][:40]}"
        )
        for document in DOCUMENTS
        for match in EXAMPLE.finditer(document.read_text(encoding="utf-8"))
    ]


def test_the_documents_have_examples_on_both_paths_and_a_models_route():
    paths = {param.values[0] for param in documented_examples()}
    assert {"/predict", RIE_PATH, "/models/merchant-normalizer/predict"} <= paths


@pytest.mark.parametrize(("path", "body", "documented"), documented_examples())
def test_a_documented_example_gets_the_documented_answer(
    invoke, handler_module, task_runtimes, monkeypatch, path, body, documented
):
    # `make serve` answers /models/<name>/predict with the package in model_artifacts/<name>.
    if path.startswith("/models/"):
        name = path.split("/")[2]
        (runtime,) = (r for r in task_runtimes.values() if r.package.directory.name == name)
        monkeypatch.setattr(handler_module.FUNCTION, "runtime", runtime)
    if path == RIE_PATH:
        answer = invoke(json.loads(body))
    else:  # curl -d sends a form content type, which the API reads as JSON
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        answer = http_answer(invoke(rest_event(body, path=path, headers=headers)))[1]
    assert_same_answer(answer, documented)


# `$ curl -s localhost:3000<path> -d "{\"image\": \"$(base64 -w0 <file>)\", ...}"`, then the answer.
BASE64_EXAMPLE = re.compile(
    r'^\$ curl -s localhost:3000(?P<path>\S+) -d "(?P<body>.*?\$\(base64 -w0 (?P<file>\S+)\).*?)"\n(?P<answer>\{.*)$',
    re.M,
)


def documented_image_examples() -> list:
    return [
        pytest.param(
            match["path"],
            match["type"],
            match["file"],
            json.loads(match["answer"]),
            id=f"{document.name}:{match['type']}:{match['file']}",
        )
        for document in DOCUMENTS
        for match in IMAGE_EXAMPLE.finditer(document.read_text(encoding="utf-8"))
    ]


def test_a_documented_base64_image_example_gets_the_documented_answer(invoke, serve_task):
    serve_task("image-classification")
    (match,) = BASE64_EXAMPLE.finditer((REPO / "docs" / "api.md").read_text(encoding="utf-8"))
    image = b64((REPO / match["file"]).read_bytes())
    body = match["body"].replace('\\"', '"').replace(f"$(base64 -w0 {match['file']})", image)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert_same_answer(
        http_answer(invoke(rest_event(body, path=match["path"], headers=headers)))[1], json.loads(match["answer"])
    )


def test_the_documents_show_images_sent_as_png_jpeg_and_refused():
    types = {param.values[1] for param in documented_image_examples()}
    assert {"image/png", "image/jpeg"} < types


@pytest.mark.parametrize(("path", "content_type", "file", "documented"), documented_image_examples())
def test_a_documented_image_example_gets_the_documented_answer(
    invoke, serve_task, path, content_type, file, documented
):
    serve_task("image-classification")
    event = rest_event(
        b64((REPO / file).read_bytes()), path=path, headers={"Content-Type": content_type}, is_base64=True
    )
    assert_same_answer(http_answer(invoke(event))[1], documented)


def assert_same_answer(answer: object, documented: object) -> None:
    if isinstance(documented, dict):
        assert isinstance(answer, dict) and set(answer) == set(documented)
        for key, value in documented.items():
            if key != "request_id":
                assert_same_answer(answer[key], value)
    elif isinstance(documented, list):
        assert isinstance(answer, list) and len(answer) == len(documented)
        for item, documented_item in zip(answer, documented, strict=True):
            assert_same_answer(item, documented_item)
    elif isinstance(documented, float):
        assert answer == pytest.approx(documented, abs=0.01)
    else:
        assert answer == documented


SIMILARITY = re.compile(r"^\$ curl -s localhost:3001/predict -d '(?P<body>[^']*)' \\\n.*\n(?P<printed>\[.*\])$", re.M)


def test_the_documented_embeddings_similarity_is_what_the_embeddings_package_computes(task_runtimes):
    (match,) = SIMILARITY.finditer((REPO / "docs" / "api.md").read_text(encoding="utf-8"))
    answer = task_runtimes["feature-extraction"].answer(json.loads(match["body"])).body
    first, *others = answer["embeddings"]
    cosines = [round(sum(a * b for a, b in zip(first, other, strict=True)), 2) for other in others]
    assert cosines == json.loads(match["printed"])
    assert cosines[0] > cosines[1]  # STARBUCKS COFFEE is nearer COSTA COFFEE than SHELL OIL


# The custom demo, served on its own port: `MODEL_DIR=model_artifacts/merchant-normalizer PORT=3002 make serve`.
NORMALIZER_EXAMPLE = re.compile(
    r"^\$ curl -s localhost:3002(?P<path>\S+)(?: -H '[^']*')* -d '(?P<body>[^']*)'\n(?P<answer>\{.*)$", re.M
)


def normalizer_examples() -> list:
    return [
        pytest.param(
            match["path"], match["body"], json.loads(match["answer"]), id=f"{document.name}:{match['body'][:40]}"
        )
        for document in DOCUMENTS
        for match in NORMALIZER_EXAMPLE.finditer(document.read_text(encoding="utf-8"))
    ]


def test_the_documents_show_the_merchant_normalizer_answering():
    assert {param.id.split(":")[0] for param in normalizer_examples()} == {"api.md"}


@pytest.mark.parametrize(("path", "body", "documented"), normalizer_examples())
def test_a_documented_merchant_normalizer_example_gets_the_documented_answer(
    invoke, handler_module, task_runtimes, monkeypatch, path, body, documented
):
    monkeypatch.setattr(handler_module.FUNCTION, "runtime", task_runtimes["custom"])
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = http_answer(invoke(rest_event(body, path=path, headers=headers)))[1]
    assert_same_answer(answer, documented)


ENTITIES_EXAMPLE = re.compile(r"^\$ curl -s localhost:3003/predict -d '(?P<body>[^']*)'\n(?P<answer>\{.*)$", re.M)


def test_the_documented_entities_example_is_what_the_entities_package_answers(task_runtimes):
    (match,) = ENTITIES_EXAMPLE.finditer((REPO / "docs" / "api.md").read_text(encoding="utf-8"))
    answer = task_runtimes["token-classification"].answer(json.loads(match["body"])).body
    assert_same_answer(answer, json.loads(match["answer"]))


README_MOST_LINES = 160


def test_the_readme_reads_top_to_bottom_in_at_most_160_lines_with_no_sentence_cut_off():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MOST_LINES
    prose, in_code = [], False
    for line in lines:
        in_code = in_code != line.startswith("```")
        if not in_code and not line.startswith("```"):
            prose.append(line)
    # A prose line that starts with a space is the tail of a sentence whose head was deleted.
    assert [line for line in prose if line.startswith(" ")] == []
