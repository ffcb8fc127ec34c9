"""`python -m training.merchant_normalizer [--output-dir DIR]`: trains the merchant-normalizer demo.

The network is the one model_artifacts/merchant-normalizer/predictor.py defines (imported from the
package by path, as the runtime imports it: one definition), trained on the pairs of
training/merchant_pairs.py with teacher forcing, then measured on the test merchants, never trained
on: exact match of the name it writes (greedy, as served). Writes model.pt (the weights, the
alphabet and the sizes) and model_card.json (with the measurement) into the package. Deterministic:
fixed seeds, one thread.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from inference.tasks.custom import import_predictor
from training.common import REPO_ROOT, SEED
from training.merchant_pairs import Pair, pairs

PACKAGE_DIR = REPO_ROOT / "model_artifacts" / "merchant-normalizer"
CARD = {
    "name": "merchant-normalizer",
    "version": "1.0.0",
    "task": "custom",
    "description": "A card-statement line in, the merchant's name out: a character-level GRU encoder-decoder "
    "with attention and a copy gate (predictor.py), trained by training/merchant_normalizer.py",
}
EMBEDDING, HIDDEN = 48, 128
BATCH = 128
STEPS = 400
LEARNING_RATE = 3e-3
# Batches are drawn from pools of lines of similar length, so a batch is padded little.
POOL_BATCHES = 32
# One thread: the GRUs' steps are too small to share well, and under load (make test runs beside
# other work) two threads were ten times slower than one; it also keeps the result the same everywhere.
THREADS = 1


def batches(rows: list[Pair], rng: random.Random):
    """Endless batches: each pass shuffles, sorts pools of POOL_BATCHES batches by line length."""
    while True:
        order = rng.sample(rows, len(rows))
        pool_size = BATCH * POOL_BATCHES
        chunks = []
        for start in range(0, len(order), pool_size):
            pool = sorted(order[start : start + pool_size], key=lambda pair: len(pair.line))
            chunks += [pool[i : i + BATCH] for i in range(0, len(pool), BATCH)]
        yield from rng.sample(chunks, len(chunks))


def train(network: Any, rows: list[Pair], steps: int, seed: int, log_every: int = 100) -> None:
    """`network`: the nn.Module class of the package's predictor.py (imported at run time), with
    its source_ids and target_ids."""
    rng = random.Random(seed)
    optimizer = torch.optim.Adam(network.parameters(), lr=LEARNING_RATE)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LEARNING_RATE, total_steps=steps, pct_start=0.1)
    network.train()
    started = time.perf_counter()
    for step, batch in zip(range(1, steps + 1), batches(rows, rng), strict=False):
        source = network.source_ids([pair.line for pair in batch])
        target = network.target_ids([pair.name for pair in batch])
        log_probabilities = network(source, target[:, :-1])
        loss = nn.functional.nll_loss(
            log_probabilities.reshape(-1, log_probabilities.shape[-1]), target[:, 1:].reshape(-1), ignore_index=0
        )
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(network.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % log_every == 0:
            print(f"step {step}/{steps}  loss {loss.item():.4f}  {time.perf_counter() - started:.0f} s", flush=True)
    network.eval()


def exact_match(network, rows: list[Pair], name_case) -> float:
    """Share of lines whose written name is exactly the expected one, as served (cased)."""
    right = 0
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        written = network.normalize([pair.line for pair in chunk])
        right += sum(output == name_case(pair.name) for output, pair in zip(written, chunk, strict=True))
    return right / len(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=PACKAGE_DIR)
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args(argv)
    predictor = import_predictor(PACKAGE_DIR)
    torch.manual_seed(SEED)
    torch.set_num_threads(THREADS)
    data = pairs()
    alphabet = "".join(sorted({char for pair in data["train"] for char in pair.line.lower() + pair.name}))
    network = predictor.MerchantNormalizer(alphabet, embedding=EMBEDDING, hidden=HIDDEN)
    started = time.perf_counter()
    train(network, data["train"], args.steps, SEED)
    seconds = time.perf_counter() - started
    score = exact_match(network, data["test"], predictor.name_case)
    merchants = len({pair.merchant for pair in data["test"]})
    print(
        f"trained in {seconds:.0f} s; exact match on {len(data['test'])} lines of {merchants} merchants never "
        f"trained on: {score:.3f}"
    )
    card = {
        **CARD,
        "metrics": {
            "exact_match_unseen_merchants": round(score, 4),
            "test_lines": len(data["test"]),
            "test_merchants": merchants,
        },
        "training": {"lines": len(data["train"]), "steps": args.steps, "batch": BATCH, "seed": SEED},
    }
    output = args.output_dir
    output.mkdir(parents=True, exist_ok=True)
    (output / "model_card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    # model.pt last, through a temporary name: it is what `make model` checks for.
    checkpoint = {"alphabet": alphabet, "sizes": network.sizes, "state_dict": network.state_dict()}
    torch.save(checkpoint, output / "model.pt.tmp")
    (output / "model.pt.tmp").replace(output / predictor.WEIGHTS)


if __name__ == "__main__":
    main()
