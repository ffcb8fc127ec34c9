"""The curl examples in README.md and docs/api.md show what the API answers: each one, sent to the
handler with the real model as the local server would send it, gets the documented answer
(labels exactly, scores to within 0.01, errors by code and message; request ids differ)."""

import json
import re
from pathlib import Path

import pytest

from tests.lambda_events import http_answer, rest_event

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO / "README.md", REPO / "docs" / "api.md"]
RIE_PATH = "/2015-03-31/functions/function/invocations"
# `$ curl -s localhost:3000<path> [-H '...'] -d '<body>'`, then the answer on the next line.
EXAMPLE = re.compile(
    r"^\$ curl -s localhost:3000(?P<path>\S+)(?: -H '[^']*')* -d '(?P<body>[^']*)'\n(?P<answer>\{.*)$", re.M
)


def documented_examples() -> list:
    return [
        pytest.param(
            match["path"], match["body"], json.loads(match["answer"]), id=f"{document.name}:{match['body'][:40]}"
        )
        for document in DOCUMENTS
        for match in EXAMPLE.finditer(document.read_text(encoding="utf-8"))
    ]


def test_the_documents_have_examples_on_both_paths():
    paths = {param.values[0] for param in documented_examples()}
    assert paths == {"/predict", RIE_PATH}


@pytest.mark.parametrize(("path", "body", "documented"), documented_examples())
def test_a_documented_example_gets_the_documented_answer(invoke, path, body, documented):
    if path == RIE_PATH:
        answer = invoke(json.loads(body))
    else:  # curl -d sends a form content type, which the API reads as JSON
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        answer = http_answer(invoke(rest_event(body, path=path, headers=headers)))[1]
    assert_same_answer(answer, documented)


def assert_same_answer(answer: object, documented: object) -> None:
    if isinstance(documented, dict):
        assert isinstance(answer, dict) and set(answer) == set(documented)
        for key, value in documented.items():
            if key != "request_id":
                assert_same_answer(answer[key], value)
    elif isinstance(documented, list):
        assert isinstance(answer, list) and len(answer) == len(documented)
        for item, documented_item in zip(answer, documented):
            assert_same_answer(item, documented_item)
    elif isinstance(documented, float):
        assert answer == pytest.approx(documented, abs=0.01)
    else:
        assert answer == documented


SIMILARITY = re.compile(
    r"^\$ curl -s localhost:3001/predict -d '(?P<body>[^']*)' \\\n.*\n(?P<printed>\[.*\])$", re.M
)


def test_the_documented_embeddings_similarity_is_what_the_embeddings_package_computes(task_runtimes):
    (match,) = SIMILARITY.finditer((REPO / "docs" / "api.md").read_text(encoding="utf-8"))
    answer, _ = task_runtimes["feature-extraction"].answer(json.loads(match["body"]))
    first, *others = answer["embeddings"]
    cosines = [round(sum(a * b for a, b in zip(first, other)), 2) for other in others]
    assert cosines == json.loads(match["printed"])
    assert cosines[0] > cosines[1]  # STARBUCKS COFFEE is nearer COSTA COFFEE than SHELL OIL


ENTITIES_EXAMPLE = re.compile(r"^\$ curl -s localhost:3002/predict -d '(?P<body>[^']*)'\n(?P<answer>\{.*)$", re.M)


def test_the_documented_entities_example_is_what_the_entities_package_answers(task_runtimes):
    (match,) = ENTITIES_EXAMPLE.finditer((REPO / "docs" / "api.md").read_text(encoding="utf-8"))
    answer, _ = task_runtimes["token-classification"].answer(json.loads(match["body"]))
    assert_same_answer(answer, json.loads(match["answer"]))
