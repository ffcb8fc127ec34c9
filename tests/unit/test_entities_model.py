"""The entities (NER) model for real: its training and evaluation code on known cases, a tiny
training run end to end, and the built package in model_artifacts/transaction-entities (which
`make test` builds first) on lines it never saw."""

import json

import pytest
from transformers import AutoConfig

from inference.settings import REPO_MODEL_DIR
from training import train_entities
from training.evaluate_entities import scores
from training.generate_data import ENTITY_LABELS
from training.train_entities import IGNORED, TAGS, token_tags

pytestmark = pytest.mark.slow

PACKAGE = REPO_MODEL_DIR.parent / "transaction-entities"


def tag(name: str) -> int:
    return TAGS.index(name)


def test_the_tags_are_outside_and_a_begin_and_inside_tag_per_entity_label():
    assert TAGS[0] == "O" and len(TAGS) == 1 + 2 * len(ENTITY_LABELS)
    assert {t.split("-", 1)[1] for t in TAGS[1:]} == set(ENTITY_LABELS)


def test_token_tags_begin_each_entity_continue_inside_it_and_ignore_special_tokens():
    # "[CLS] star ##bucks store 104 ##32 seattle wa [SEP]" of "STARBUCKS STORE 10432 SEATTLE WA"
    offsets = [(0, 0), (0, 4), (4, 9), (10, 15), (16, 19), (19, 21), (22, 29), (30, 32), (0, 0)]
    special = [1, 0, 0, 0, 0, 0, 0, 0, 1]
    entities = [
        {"start": 0, "end": 9, "label": "MERCHANT"},
        {"start": 16, "end": 21, "label": "STORE_ID"},
        {"start": 22, "end": 32, "label": "LOCATION"},
    ]
    assert token_tags(offsets, special, entities) == [
        IGNORED, tag("B-MERCHANT"), tag("I-MERCHANT"), tag("O"), tag("B-STORE_ID"), tag("I-STORE_ID"),
        tag("B-LOCATION"), tag("I-LOCATION"), IGNORED,
    ]  # fmt: skip


def test_two_entities_of_one_label_side_by_side_each_begin():
    entities = [{"start": 0, "end": 2, "label": "DATE"}, {"start": 3, "end": 5, "label": "DATE"}]
    assert token_tags([(0, 2), (3, 5)], [0, 0], entities) == [tag("B-DATE"), tag("B-DATE")]


def test_scores_count_an_entity_only_when_label_start_and_end_are_exact():
    truth = [{("MERCHANT", 0, 9), ("LOCATION", 22, 32)}, {("MERCHANT", 4, 10)}]
    found = [{("MERCHANT", 0, 9), ("LOCATION", 22, 29)}, {("MERCHANT", 4, 10), ("DATE", 0, 3)}]
    result = scores(truth, found)
    assert result["per_label"]["MERCHANT"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert result["per_label"]["LOCATION"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert result["all"] == {"precision": 0.5, "recall": 0.6667, "f1": 0.5714, "support": 3}


def test_a_tiny_training_run_writes_a_token_classification_folder_with_a_model_card(tmp_path):
    args = ["--limit", "48", "--bare-share", "1", "--epochs", "1", "--output-dir", str(tmp_path)]
    train_entities.train(train_entities.parse_args(args))
    config = AutoConfig.from_pretrained(tmp_path, local_files_only=True)
    assert config.architectures == ["BertForTokenClassification"]
    assert [config.id2label[i] for i in range(len(TAGS))] == list(TAGS)
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert card["task"] == "token-classification" and card["labels"] == list(ENTITY_LABELS)
    assert card["data"]["train"] == 48 and card["training_seconds"] > 0


@pytest.fixture(scope="module")
def entities(task_runtimes):
    runtime = task_runtimes["token-classification"]
    assert runtime.package.directory == PACKAGE
    return lambda text: runtime.answer({"text": text}).body["entities"]


def test_the_built_package_finds_starbucks_in_a_card_line(entities):
    text = "STARBUCKS STORE 10432 SEATTLE WA"
    found = entities(text)
    assert {"label": "MERCHANT", "text": "STARBUCKS"} in [{"label": e["label"], "text": e["text"]} for e in found]
    assert all(e["text"] == text[e["start"] : e["end"]] for e in found)


# Lines written for this test, of merchants the catalogue does not name, in formats it has.
UNSEEN_LINES = {
    "POS 4411 BLUE HERON BAKERY PORTLAND OR": "BLUE HERON BAKERY",
    "SQ *QUILL & INK STATIONERS AUSTIN TX": "QUILL & INK STATIONERS",
    "CARD PAYMENT TO MOONFLOWER YOGA ON 12NOV24": "MOONFLOWER YOGA",
}


@pytest.mark.parametrize(("text", "merchant"), UNSEEN_LINES.items())
def test_the_built_package_finds_a_merchant_it_never_saw(entities, text, merchant):
    found = entities(text)
    assert [e["text"] for e in found if e["label"] == "MERCHANT"] == [merchant]
    assert all(e["text"] == text[e["start"] : e["end"]] for e in found)


def test_the_built_package_card_carries_the_entity_f1_on_unseen_merchants():
    card = json.loads((PACKAGE / "model_card.json").read_text())
    assert card["task"] == "token-classification"
    assert card["metrics"]["test_entity_f1"] >= 0.90
    assert card["metrics"]["test_entity_f1_per_label"]["MERCHANT"] >= 0.90
