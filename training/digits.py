"""`python -m training.digits --output-dir model_artifacts/digits` (`make model`): the digits demo
package (image-classification, docs/models.md), offline, in seconds.

Trains training/digits_net.py's CNN on the handwritten digits scikit-learn ships
(`sklearn.datasets.load_digits`: 1,797 8x8 images, each pixel the count of ink dots, 0..16, in a
4x4 block of a 32x32 bitmap), on a fixed seed and a stratified split. Every training image is
shown in both polarities: dark ink on light paper (a scan, a photo of a page: what the card's
`invert` turns into bright ink) and light ink on a dark ground (how scikit-learn's digits and MNIST
are drawn, so what a user of either sends). A model trained on one polarity is confidently wrong
on the other; one trained on both reads either, with no guess in the runtime about which one an
image is. Refuses to write a package whose held-out accuracy, in either polarity and any variant,
is under MIN_ACCURACY. Writes model.pt (TorchScript), model.int8.pt (its
Linear layers quantized), model.onnx (exported from the same module), model.safetensors (the
state_dict, read only by the naive baseline of `make bench`) and model_card.json, built in a
temporary folder beside the output and moved there whole. `--examples DIR` writes a held-out 7 as
the PNG and JPEG the docs' curl examples send (dark ink on light paper, as a scan would be).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from training.digits_net import DigitsCNN

NAME = "digits"
VERSION = "1.0.0"
SEED = 20241123
HELD_OUT_SHARE = 0.2
EPOCHS = 20
BATCH = 64
MIN_ACCURACY = 0.97
# The data set's pixels count ink dots in 4x4 blocks: 0 (paper) .. 16 (all ink).
INK_LEVELS = 16
BLOCK = 4
PARITY_LIMIT = 1e-4
# The held-out accuracies the card records, by polarity: the metric's suffix.
POLARITIES = {"dark on light": "", "light on dark": "_light_on_dark"}


def split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, held-out images, held-out labels); images 8x8 in 0..16."""
    digits = load_digits()
    images = digits.images.astype(np.float32)
    train_images, held_images, train_labels, held_labels = train_test_split(
        images, digits.target, test_size=HELD_OUT_SHARE, stratify=digits.target, random_state=SEED
    )
    return train_images, train_labels, held_images, held_labels


def render(image: np.ndarray, scale: int = 1, *, light_on_dark: bool = False) -> Image.Image:
    """A digit as a scan would show it: each pixel a BLOCK x BLOCK square (times `scale`) of gray,
    dark ink on light paper (or light ink on a dark ground); the runtime's BOX resize to 8x8 gives
    the pixel back."""
    ink = image * 255 / INK_LEVELS
    gray = np.round(ink if light_on_dark else 255 - ink).astype(np.uint8)
    return Image.fromarray(np.kron(gray, np.ones((BLOCK * scale, BLOCK * scale), dtype=np.uint8)), "L")


def in_polarity(images: np.ndarray, polarity: str) -> np.ndarray:
    """Images (ink levels) as the runtime turns them into ink levels when sent in `polarity`: the
    card's invert makes dark ink on light paper the levels themselves, and light on dark their
    negative."""
    return images if polarity == "dark on light" else INK_LEVELS - images


def network_input(images: np.ndarray, mean: float, std: float) -> torch.Tensor:
    """What the runtime feeds the graph for these images: [N, 1, 8, 8], ink in 0..1, normalized."""
    return torch.from_numpy((images[:, None] / INK_LEVELS - mean) / std)


def train(inputs: torch.Tensor, labels: torch.Tensor) -> DigitsCNN:
    torch.manual_seed(SEED)
    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, EPOCHS)
    generator = torch.Generator().manual_seed(SEED)
    model.train()
    for _ in range(EPOCHS):
        for batch in torch.randperm(len(inputs), generator=generator).split(BATCH):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(inputs[batch]), labels[batch]).backward()
            optimizer.step()
        schedule.step()
    return model.eval()


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(axis=1) == labels).mean())


def export(model: DigitsCNN, example: torch.Tensor, folder: Path) -> dict[str, torch.jit.ScriptModule]:
    """model.pt, model.int8.pt and model.onnx (dynamic batch) from the trained module."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript's deprecation and the exporter's notices
        traced = torch.jit.trace(model, example)
        int8 = torch.jit.trace(torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8), example)
        traced.save(str(folder / "model.pt"))
        int8.save(str(folder / "model.int8.pt"))
        torch.onnx.export(
            model,
            (example,),
            str(folder / "model.onnx"),
            input_names=["pixels"],
            output_names=["logits"],
            dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}},
            dynamo=False,
        )
    return {"fp32": traced, "int8": int8}


def build(output_dir: Path) -> dict:
    started = time.perf_counter()
    # One thread: the network is too small for a second to help, and on cores another job is using,
    # torch's threads wait for each other at every layer (make model trains two packages at a time).
    torch.set_num_threads(1)
    train_images, train_labels, held_images, held_labels = split()
    both = np.concatenate([in_polarity(train_images, polarity) for polarity in POLARITIES])
    scaled = both / INK_LEVELS
    mean, std = float(scaled.mean()), float(scaled.std())
    model = train(network_input(both, mean, std), torch.from_numpy(np.tile(train_labels, len(POLARITIES))))
    held_inputs = {polarity: network_input(in_polarity(held_images, polarity), mean, std) for polarity in POLARITIES}
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output_dir.parent, prefix=f".{output_dir.name}-") as scratch:
        folder = Path(scratch)
        graphs = export(model, held_inputs["dark on light"][:1], folder)
        import onnxruntime

        session = onnxruntime.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
        accuracies, parity = {}, 0.0
        for polarity, suffix in POLARITIES.items():
            inputs = held_inputs[polarity]
            with torch.inference_mode():
                logits = {variant: graph(inputs).numpy() for variant, graph in graphs.items()}
            logits["onnx"] = session.run(None, {"pixels": inputs.numpy()})[0]
            parity = max(parity, float(np.abs(logits["onnx"] - logits["fp32"]).max()))
            for variant, values in logits.items():
                accuracies[f"held_out_accuracy{suffix}{'' if variant == 'fp32' else '_' + variant}"] = accuracy(
                    values, held_labels
                )
        if parity > PARITY_LIMIT:
            raise SystemExit(f"training.digits: model.onnx is off model.pt by {parity:.1e} (limit {PARITY_LIMIT:.0e})")
        name, lowest = min(accuracies.items(), key=lambda item: item[1])
        if lowest < MIN_ACCURACY:
            raise SystemExit(f"training.digits: {name} {lowest:.4f} is under {MIN_ACCURACY}: no package written")
        save_file(model.state_dict(), str(folder / "model.safetensors"))
        card = {
            "name": NAME,
            "version": VERSION,
            "task": "image-classification",
            "labels": [str(label) for label in range(10)],
            "image": {
                "width": 8,
                "height": 8,
                "mode": "L",
                "invert": True,
                "mean": [round(mean, 6)],
                "std": [round(std, 6)],
            },
            "metrics": {
                **{name: round(value, 4) for name, value in accuracies.items()},
                "held_out_images": len(held_labels),
                "train_images": len(train_labels),
            },
            "parity": {"onnx": parity},
            "training": {
                "data": "sklearn.datasets.load_digits",
                "polarities": list(POLARITIES),
                "split": f"stratified, {HELD_OUT_SHARE:.0%} held out, random_state={SEED}",
                "epochs": EPOCHS,
                "seed": SEED,
                "seconds": round(time.perf_counter() - started, 1),
            },
        }
        (folder / "model_card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(output_dir, ignore_errors=True)
        # mkdtemp made the folder private: the image's COPY keeps modes, and Lambda's user is not root.
        folder.chmod(0o755)
        for path in folder.iterdir():
            path.chmod(0o644)
        folder.rename(output_dir)
        folder.mkdir()  # for TemporaryDirectory's clean-up
    return card


def write_examples(directory: Path) -> list[Path]:
    """The first held-out 7 as a 32x32 PNG and a 128x128 JPEG."""
    _, _, held_images, held_labels = split()
    seven = held_images[int(np.flatnonzero(held_labels == 7)[0])]
    directory.mkdir(parents=True, exist_ok=True)
    png, jpeg = directory / "digit-7.png", directory / "digit-7.jpg"
    render(seven).save(png, optimize=True)
    render(seven, scale=4).save(jpeg, quality=90)
    return [png, jpeg]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", type=Path, default=Path("model_artifacts") / NAME)
    parser.add_argument("--examples", type=Path, help="write the example images here instead of training")
    args = parser.parse_args(argv)
    if args.examples:
        for path in write_examples(args.examples):
            print(f"wrote {path}")
        return 0
    card = build(args.output_dir)
    metrics = card["metrics"]
    print(
        f"wrote {args.output_dir}: held-out accuracy {metrics['held_out_accuracy']:.4f} on "
        f"{metrics['held_out_images']} images dark on light, {metrics['held_out_accuracy_light_on_dark']:.4f} "
        f"light on dark (int8 {metrics['held_out_accuracy_int8']:.4f} / "
        f"{metrics['held_out_accuracy_light_on_dark_int8']:.4f}, onnx {metrics['held_out_accuracy_onnx']:.4f} / "
        f"{metrics['held_out_accuracy_light_on_dark_onnx']:.4f}) in {card['training']['seconds']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
