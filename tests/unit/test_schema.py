"""The request contracts of the tasks (inference/tasks/), checked without a model."""

from pathlib import Path

import pytest

from inference.package import ModelPackage
from inference.schema import Limits, RequestError, parse_json, validate
from inference.tasks import request_model

LIMITS = Limits(max_text_chars=20, max_batch=3)
LABELS = {"id2label": {str(i): f"label{i}" for i in range(10)}}


def package(task: str, config: dict = LABELS) -> ModelPackage:
    return ModelPackage(Path("unused"), "model", "1", task, card={}, config=config)


CLASSIFIER = request_model(package("text-classification"), LIMITS)


class SCHEMA:
    @staticmethod
    def validate(data):
        return validate(CLASSIFIER, data)


def refusal(data, model=CLASSIFIER) -> RequestError:
    with pytest.raises(RequestError) as caught:
        validate(model, data)
    return caught.value


def test_single_text_is_accepted_as_sent():
    """Not stripped: entity offsets are offsets into the text as sent."""
    request = SCHEMA.validate({"text": "  CVS/PHARMACY #045 "})
    assert request.batch == ["  CVS/PHARMACY #045 "]
    assert request.texts is None and request.top_k is None


def test_an_integral_number_is_an_integer_as_json_schema_says():
    assert SCHEMA.validate({"text": "a", "top_k": 2.0}).top_k == 2


def test_white_space_counts_toward_the_length_limit():
    assert refusal({"text": " " * 15 + "x" * 6}).status == 413


def test_a_multi_label_model_takes_a_threshold_between_0_and_1():
    model = request_model(
        package("text-classification", {**LABELS, "problem_type": "multi_label_classification"}), LIMITS
    )
    assert validate(model, {"text": "a", "threshold": 0.3}).threshold == 0.3
    assert (
        refusal({"text": "a", "threshold": 1.5}, model).message == "threshold: Input should be less than or equal to 1"
    )
    assert refusal({"text": "a", "threshold": 0.3}).message == (
        'threshold: unknown field (allowed: "text", "texts", "top_k", "min_score")'
    )


def test_a_single_label_model_takes_a_min_score_between_0_and_1():
    assert SCHEMA.validate({"text": "a", "min_score": 0.9}).min_score == 0.9
    assert SCHEMA.validate({"text": "a", "min_score": 1}).min_score == 1.0
    assert refusal({"text": "a", "min_score": 1.5}).message == "min_score: Input should be less than or equal to 1"
    assert refusal({"text": "a", "min_score": -0.1}).message == "min_score: Input should be greater than or equal to 0"
    assert refusal({"text": "a", "min_score": "0.9"}).status == 400
    assert refusal({"text": "a", "min_score": True}).status == 400


def test_a_multi_label_model_refuses_min_score_its_threshold_says_which_labels_are_given():
    model = request_model(
        package("text-classification", {**LABELS, "problem_type": "multi_label_classification"}), LIMITS
    )
    error = refusal({"text": "a", "min_score": 0.9}, model)
    assert (error.status, error.code) == (400, "invalid_request")
    assert error.message == 'min_score: unknown field (allowed: "text", "texts", "top_k", "threshold")'


@pytest.mark.parametrize("task", ["token-classification", "feature-extraction"])
def test_tasks_without_labels_to_rank_take_texts_only(task):
    model = request_model(package(task), LIMITS)
    assert validate(model, {"texts": ["a", "b"]}).batch == ["a", "b"]
    assert refusal({"text": "a", "top_k": 2}, model).message == 'top_k: unknown field (allowed: "text", "texts")'
    assert refusal({"text": "x" * 21}, model).status == 413


def test_batch_keeps_input_order_and_top_k():
    request = SCHEMA.validate({"texts": ["b", "a", "c"], "top_k": 10})
    assert request.batch == ["b", "a", "c"]
    assert request.top_k == 10


def test_text_at_the_length_limit_is_accepted():
    assert SCHEMA.validate({"text": "x" * 20}).text == "x" * 20


def test_text_over_the_length_limit_is_413():
    error = refusal({"text": "x" * 21})
    assert (error.status, error.code) == (413, "text_too_long")
    assert error.message == "text: longer than the limit of 20 characters"


def test_too_many_texts_is_413_even_before_their_types_are_checked():
    error = refusal({"texts": [1] * 10_000})
    assert (error.status, error.code) == (413, "too_many_texts")
    assert error.message == "texts: more than the limit of 3 texts (10000 given)"


def test_long_text_inside_a_batch_names_its_index():
    error = refusal({"texts": ["ok", "x" * 21]})
    assert (error.status, error.message) == (413, "texts[1]: longer than the limit of 20 characters")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, 'give exactly one of "text" or "texts"'),
        ({"text": "a", "texts": ["b"]}, 'give exactly one of "text" or "texts"'),
        ({"text": None}, "text: must not be null: leave the field out"),
        ({"text": None, "texts": ["a"]}, "text: must not be null: leave the field out"),
        ({"text": "   "}, "text: must not be empty or only whitespace"),
        ({"texts": []}, "texts: must hold at least one text"),
        ({"texts": ["a", 5]}, "texts[1]: Input should be a valid string"),
        ({"texts": "a"}, "texts: Input should be a valid list"),
        ({"text": ["a"]}, "text: Input should be a valid string"),
        ({"text": "a", "top_k": 0}, "top_k: Input should be greater than or equal to 1"),
        ({"text": "a", "top_k": 11}, "top_k: Input should be less than or equal to 10"),
        ({"text": "a", "top_k": True}, "top_k: Input should be a valid integer"),
        ({"text": "a", "top_k": "3"}, "top_k: Input should be a valid integer"),
        ({"text": "a", "top_k": 2.5}, "top_k: Input should be a valid integer"),
        ({"text": "a", "label": "food"}, 'label: unknown field (allowed: "text", "texts", "top_k", "min_score")'),
        ({"text": "\ud800"}, "text: must be valid Unicode text"),
        (["a"], "the request must be a JSON object"),
        ("a", "the request must be a JSON object"),
        (None, "the request must be a JSON object"),
    ],
)
def test_malformed_request_is_400_with_a_message_naming_the_problem(data, message):
    error = refusal(data)
    assert (error.status, error.code, error.message) == (400, "invalid_request", message)


def test_several_problems_are_counted_in_the_message():
    assert refusal({"texts": [1, 2, 3]}).message == "texts[0]: Input should be a valid string (and 2 more problems)"


def test_a_long_unknown_field_name_is_cut_in_the_message():
    assert refusal({"text": "a", "k" * 500: 1}).message.startswith("k" * 40 + "...: unknown field")


def test_json_body_is_parsed():
    assert parse_json('{"text": "a", "top_k": 2}') == {"text": "a", "top_k": 2}


@pytest.mark.parametrize(
    "body",
    ["", "{", "text=a", '{"text": NaN}', '{"text": "a",}', "[" * 1000 + "]" * 1000],
    ids=["empty", "truncated", "form", "nan", "trailing-comma", "deep-nesting"],
)
def test_invalid_json_is_400(body):
    with pytest.raises(RequestError) as caught:
        parse_json(body)
    assert (caught.value.status, caught.value.code) == (400, "invalid_json")
    assert caught.value.message.startswith("the body is not valid JSON: ")
