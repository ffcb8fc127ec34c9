"""The request contract of POST /predict, checked without the model."""

import pytest

from inference.schema import RequestError, RequestSchema, parse_json

SCHEMA = RequestSchema(max_text_chars=20, max_batch=3, n_labels=10)


def refusal(data) -> RequestError:
    with pytest.raises(RequestError) as caught:
        SCHEMA.validate(data)
    return caught.value


def test_single_text_is_accepted_and_stripped():
    request = SCHEMA.validate({"text": "  CVS/PHARMACY #04512 "})
    assert request.batch == ["CVS/PHARMACY #04512"]
    assert request.texts is None and request.top_k is None


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
        ({"text": None}, 'give exactly one of "text" or "texts"'),
        ({"text": "   "}, "text: must not be empty or only whitespace"),
        ({"texts": []}, "texts: must hold at least one text"),
        ({"texts": ["a", 5]}, "texts[1]: Input should be a valid string"),
        ({"texts": "a"}, "texts: Input should be a valid list"),
        ({"text": ["a"]}, "text: Input should be a valid string"),
        ({"text": "a", "top_k": 0}, "top_k: Input should be greater than or equal to 1"),
        ({"text": "a", "top_k": 11}, "top_k: Input should be less than or equal to 10"),
        ({"text": "a", "top_k": True}, "top_k: Input should be a valid integer"),
        ({"text": "a", "top_k": "3"}, "top_k: Input should be a valid integer"),
        ({"text": "a", "top_k": 2.0}, "top_k: Input should be a valid integer"),
        ({"text": "a", "label": "food"}, 'label: unknown field (allowed: "text", "texts", "top_k")'),
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
