"""What the data generator, train.py, evaluate.py and the tests share: labels, paths, data files,
and batched prediction with dynamic padding."""

from __future__ import annotations

import csv
import os
from pathlib import Path

# Before transformers is imported anywhere: nothing here may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "training" / "data"
HOLDOUT_FILE = DATA_DIR / "holdout_handwritten.csv"
DEFAULT_MODEL_DIR = REPO_ROOT / "model_artifacts" / "transaction-classifier"

LABELS = (
    "food",
    "transport",
    "bills",
    "shopping",
    "entertainment",
    "health",
    "travel",
    "housing",
    "income",
    "transfer",
)
SPLITS = ("train", "validation", "test")
FIELDS = ("text", "label", "group")
SEED = 20241123
# Statement lines are short (the longest in the data set is about 50 tokens): training pads to
# the longest line of each batch and cuts at TRAIN_MAX_TOKENS; the saved model and tokenizer take
# up to MODEL_MAX_TOKENS, so the service truncates there.
TRAIN_MAX_TOKENS = 64
MODEL_MAX_TOKENS = 128
# Confidence bins of the expected calibration error.
ECE_BINS = 15
# Both of the machine's cores; a third thread only adds contention.
TORCH_THREADS = 2


def read_split(name: str, directory: Path = DATA_DIR) -> list[dict[str, str]]:
    """Rows of training/data/<name>.csv (text, label, group)."""
    with open(directory / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_holdout() -> list[dict[str, str]]:
    """The hand-written lines in formats and from merchants the generator never uses."""
    with open(HOLDOUT_FILE, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def encode(tokenizer, texts: list[str]) -> dict[str, torch.Tensor]:
    """One batch, padded to its own longest text."""
    return tokenizer(texts, padding=True, truncation=True, max_length=TRAIN_MAX_TOKENS, return_tensors="pt")


@torch.inference_mode()
def predict_logits(model, tokenizer, texts: list[str], batch_size: int = 128) -> torch.Tensor:
    """Logits for every text, in input order (batches sorted by length, so there is little padding)."""
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    logits = torch.empty(len(texts), model.config.num_labels)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        logits[chunk] = model(**encode(tokenizer, [texts[i] for i in chunk])).logits.float()
    return logits


def expected_calibration_error(probabilities: torch.Tensor, targets: torch.Tensor, bins: int = ECE_BINS) -> float:
    """The gap between confidence and accuracy, averaged over equal-width confidence bins weighted
    by their share of lines (Guo et al., 2017): 0 when a 0.9 answer is right 90 % of the time."""
    confidence, predicted = probabilities.max(dim=1)
    correct = predicted.eq(targets).float()
    bin_of = torch.clamp((confidence * bins).ceil().long() - 1, 0, bins - 1)
    error = torch.zeros(())
    for index in range(bins):
        in_bin = bin_of == index
        if in_bin.any():
            error += in_bin.float().mean() * (confidence[in_bin].mean() - correct[in_bin].mean()).abs()
    return float(error)


def predict_labels(model, tokenizer, texts: list[str]) -> list[str]:
    id2label = model.config.id2label
    return [id2label[int(i)] for i in predict_logits(model, tokenizer, texts).argmax(dim=1)]
