"""Training and evaluation for real: a tiny fine-tuning run end to end, and the built model in
model_artifacts/transaction-classifier (which `make test` builds first) on obvious lines it never saw."""

import json
import subprocess
import sys

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from training import train
from training.common import (
    DEFAULT_MODEL_DIR,
    LABELS,
    MODEL_MAX_TOKENS,
    REPO_ROOT,
    SPLITS,
    expected_calibration_error,
    predict_labels,
    predict_logits,
    read_split,
)

pytestmark = pytest.mark.slow

SAMPLE_LINES = ["STARBUCKS STORE 10432 SEATTLE WA", "DD BRITISH GAS 12345678", "ZELLE TO JOHN SMITH", "rent nov"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """80 training lines, one epoch: (folder, in-memory model, tokenizer, card)."""
    folder = tmp_path_factory.mktemp("tiny_model")
    model, tokenizer, card = train.train(
        train.parse_args(["--limit", "80", "--epochs", "1", "--output-dir", str(folder)])
    )
    return folder, model, tokenizer, card


def test_a_tiny_training_run_writes_a_hugging_face_folder_with_a_model_card(tiny_run):
    folder, _, _, card = tiny_run
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "model_card.json"):
        assert (folder / name).is_file(), name
    config = json.loads((folder / "config.json").read_text())
    assert config["id2label"] == {str(i): label for i, label in enumerate(LABELS)}
    assert config["label2id"] == {label: i for i, label in enumerate(LABELS)}
    assert json.loads((folder / "model_card.json").read_text()) == card
    assert card["labels"] == list(LABELS)
    assert card["data"]["train"] == 80
    assert 0 <= card["metrics"]["validation_accuracy"] <= 1
    assert card["training_seconds"] > 0
    assert {"name", "version", "base_model", "command", "seed", "created"} <= card.keys()
    assert card["temperature"] > 0
    assert 0 <= card["metrics"]["validation_ece"] <= 1


def test_the_saved_model_serves_the_calibrated_probabilities(tiny_run):
    """The temperature is in the saved head: plain transformers gives the card's validation ECE."""
    folder, _, _, card = tiny_run
    model = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    rows = read_split("validation")[: card["data"]["validation"]]
    probabilities = predict_logits(model, tokenizer, [row["text"] for row in rows]).softmax(dim=1)
    targets = torch.tensor([model.config.label2id[row["label"]] for row in rows])
    assert expected_calibration_error(probabilities, targets) == pytest.approx(
        card["metrics"]["validation_ece"], abs=2e-4
    )


def test_the_saved_model_reloads_with_the_same_logits_as_the_trained_one(tiny_run):
    folder, model, tokenizer, _ = tiny_run
    reloaded = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True).eval()
    reloaded_tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    with torch.inference_mode():
        before = model.eval()(**tokenizer(SAMPLE_LINES, padding=True, return_tensors="pt")).logits
        after = reloaded(**reloaded_tokenizer(SAMPLE_LINES, padding=True, return_tensors="pt")).logits
    torch.testing.assert_close(after, before)
    assert predict_labels(reloaded, reloaded_tokenizer, SAMPLE_LINES) == predict_labels(model, tokenizer, SAMPLE_LINES)


def test_the_saved_model_and_tokenizer_agree_on_the_longest_input(tiny_run):
    folder, *_ = tiny_run
    config = json.loads((folder / "config.json").read_text())
    tokenizer_json = json.loads((folder / "tokenizer.json").read_text())
    assert config["max_position_embeddings"] == MODEL_MAX_TOKENS
    assert json.loads((folder / "tokenizer_config.json").read_text())["model_max_length"] == MODEL_MAX_TOKENS
    assert tokenizer_json["truncation"]["max_length"] == MODEL_MAX_TOKENS
    assert tokenizer_json["padding"] is None
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    assert len(tokenizer("coffee " * 500, truncation=True)["input_ids"]) == MODEL_MAX_TOKENS


def test_evaluate_writes_metrics_a_confusion_matrix_and_merges_them_into_the_card(tiny_run):
    folder, *_ = tiny_run
    subprocess.run(
        [sys.executable, "-m", "training.evaluate", "--model-dir", str(folder)],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    evaluation = json.loads((folder / "evaluation.json").read_text())
    assert evaluation["test"]["lines"] == len(read_split("test"))
    assert set(evaluation["test"]["per_label"]) == set(LABELS)
    assert (folder / "confusion_matrix.png").read_bytes().startswith(b"\x89PNG")
    metrics = json.loads((folder / "model_card.json").read_text())["metrics"]
    assert metrics["test_accuracy"] == evaluation["test"]["accuracy"]
    assert metrics["holdout_handwritten_accuracy"] == evaluation["holdout_handwritten"]["accuracy"]
    assert metrics["test_ece"] == evaluation["test"]["ece"]
    assert 0 <= metrics["test_ece"] <= 1


def test_the_training_script_runs_from_the_command_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "training.train", "--limit", "32", "--epochs", "1", "--output-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    assert "validation accuracy" in result.stdout
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert card["command"].startswith("python -m training.train --limit 32")


# Obvious lines, written for this test (none is in the data set), a few per label and country.
OBVIOUS_LINES = {
    "food": [
        "STARBUCKS STORE 10432 SEATTLE WA",
        "POS 1234 TESCO STORES 3421 LONDON GB",
        "UBER EATS ORDER 8812",
        "LIDL SAGT DANKE BERLIN",
    ],
    "transport": [
        "SHELL OIL 57442660 HOUSTON TX",
        "UBER   *TRIP 4HXQ2 SAN FRANCISCO",
        "TFL TRAVEL CHARGE LONDON",
        "PARKING CITY CENTRE CAR PARK",
    ],
    "bills": [
        "DD BRITISH GAS 12345678",
        "ACH DEBIT COMCAST CABLE",
        "VERIZON WIRELESS AUTOPAY",
        "COUNCIL TAX DIRECT DEBIT",
    ],
    "shopping": ["AMZN Mktp US*2K4LM9", "IKEA STORE 042 HAMBURG", "ZARA ONLINE ES", "BEST BUY 00123 AUSTIN TX"],
    "entertainment": [
        "NETFLIX.COM 866-579-7172 CA",
        "PAYPAL *SPOTIFY",
        "STEAM GAMES PURCHASE",
        "CINEWORLD CINEMA TICKETS",
    ],
    "health": [
        "CVS/PHARMACY #04512",
        "WALGREENS #1234 CHICAGO IL",
        "PUREGYM MONTHLY MEMBERSHIP",
        "DENTAL CLINIC CHECKUP",
    ],
    "travel": ["RYANAIR DUBLIN FR8J2K", "AIRBNB * HMABC123", "BOOKING.COM HOTEL PARIS", "HERTZ CAR RENTAL LAX"],
    "housing": [
        "RENT PAYMENT DECEMBER",
        "MORTGAGE PAYMENT HALIFAX",
        "SMITH PLUMBING & HEATING INVOICE",
        "LETTING AGENT RENT NOV",
    ],
    "income": [
        "FPS CREDIT ACME LTD SALARY",
        "PAYROLL DIRECT DEPOSIT ADP",
        "SAVINGS INTEREST PAID",
        "HMRC TAX REFUND 2024",
    ],
    "transfer": [
        "ZELLE TO JOHN SMITH",
        "VENMO PAYMENT 1029384756",
        "ATM WITHDRAWAL 1234 HSBC LONDON",
        "TRANSFER TO SAVINGS ACCOUNT",
    ],
}


@pytest.fixture(scope="module")
def built_model():
    model = AutoModelForSequenceClassification.from_pretrained(DEFAULT_MODEL_DIR, local_files_only=True)
    return model, AutoTokenizer.from_pretrained(DEFAULT_MODEL_DIR, local_files_only=True)


def test_the_obvious_lines_are_not_in_the_data_set():
    seen = {row["text"].casefold() for name in SPLITS for row in read_split(name)}
    assert [text for lines in OBVIOUS_LINES.values() for text in lines if text.casefold() in seen] == []


@pytest.mark.parametrize("label", LABELS)
def test_the_built_model_classifies_obvious_lines(built_model, label):
    model, tokenizer = built_model
    assert predict_labels(model, tokenizer, OBVIOUS_LINES[label]) == [label] * len(OBVIOUS_LINES[label])


def test_the_built_model_card_carries_the_test_metrics():
    card = json.loads((DEFAULT_MODEL_DIR / "model_card.json").read_text())
    assert card["labels"] == list(LABELS)
    assert card["metrics"]["test_accuracy"] >= 0.95
    assert card["metrics"]["test_ece"] <= 0.05
    assert card["temperature"] > 0
