"""`make package MODEL=<hf folder> OUT=<package folder> [TASK=... NAME=... VERSION=...]`: turns a
Hugging Face model folder into a package the runtime serves (docs/models.md).

    python -m tools.packager MODEL_DIR OUT_DIR [--task T] [--name N] [--version V]

It reads the folder with transformers, traces the network once with TorchScript into model.pt
(the torch backend), also traces its int8 variant into model.int8.pt, exports the same trace to
model.onnx (the onnx backend), writes model_card.json, then serves sample texts through the
runtime on both backends and compares with transformers' own answers. A folder it cannot serve is
refused with one line and exit status 2, and nothing is left in OUT: the package is built in a
temporary folder beside it and moved into place only when every check has passed.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Before transformers is imported: nothing here may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
import transformers
from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

from inference.encoder import load_tokenizer
from inference.package import GRAPH_FILES, ModelPackage, PackageError, infer_task, read_json
from inference.settings import Settings
from inference.tasks import TASKS, read_package, task_of
from inference.tasks.feature_extraction import FeatureExtraction
from inference.tasks.text_classification import TextClassification

# Probabilities and embeddings must match transformers' within this.
PARITY_LIMIT = 1e-4
# Texts of several lengths, digits, punctuation and non-ASCII: batches that pad, words that split.
SAMPLE_TEXTS = [
    "STARBUCKS STORE 10432 SEATTLE WA",
    "Paid John Smith for dinner in Paris",
    "RYANAIR DUBLIN FR8J2K",
    "Überweisung an Müller GmbH, München",
    "The quick brown fox jumps over the lazy dog near the river bank on a sunny afternoon",
    "a",
    "CVS/PHARMACY #04512 NEW YORK NY 10001",
    "ÉLECTRICITÉ DE FRANCE prélèvement 2026-11-03",
]
THREADS = 2


def package(
    source: Path,
    out: Path,
    *,
    task: str | None = None,
    name: str | None = None,
    version: str | None = None,
    texts: list[str] = SAMPLE_TEXTS,
) -> ModelPackage:
    """Builds the package of `source` at `out` (which may be `source` itself) and returns it;
    PackageError (one line) for a folder it cannot serve."""
    out = out.resolve()  # the source as given: the messages name it as the user did
    config = read_json(source / "config.json")
    card = read_json(source / "model_card.json") if (source / "model_card.json").is_file() else {}
    task = task or card.get("task") or infer_task(source, config)
    if task not in TASKS:
        raise PackageError(f"unknown task {task!r}: TASK must be one of {', '.join(TASKS)}")
    if not TASKS[task].packaged_from_hugging_face:
        raise PackageError(
            f"TASK={task}: `make package` builds packages from Hugging Face folders; a {task} package is a folder "
            "you write yourself (docs/models.md shows how)"
        )
    if not (source / "tokenizer.json").is_file():
        raise PackageError(
            f"{source}: no tokenizer.json; the runtime reads the fast tokenizer: save it with "
            "AutoTokenizer.from_pretrained(folder).save_pretrained(folder)"
        )
    model = _load_transformers_model(source, task)
    card.update(
        name=name or card.get("name") or out.name,
        version=version or card.get("version") or "1.0.0",
        task=task,
        architecture=config.get("model_type"),
        max_tokens=_longest_input(model, config),
    )
    if task == "feature-extraction":
        declared = _sentence_transformers_pooling(source)
        declared["max_tokens"] = min(card["max_tokens"], declared.get("max_tokens", card["max_tokens"]))
        card.update(declared)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        shutil.copytree(source, staging, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*GRAPH_FILES.values()))
        (staging / "model_card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", "utf-8")
        built = read_package(staging)
        _export(model, built, task)
        card["parity"] = check_parity(source, built, model, texts)
        (staging / "model_card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", "utf-8")
        _replace(out, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return read_package(out)


def _load_transformers_model(source: Path, task: str) -> Any:
    auto = {
        "text-classification": transformers.AutoModelForSequenceClassification,
        "token-classification": transformers.AutoModelForTokenClassification,
        "feature-extraction": transformers.AutoModel,
    }[task]
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        return auto.from_pretrained(source, local_files_only=True).eval()
    except (ValueError, OSError, KeyError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PackageError(f"{source}: transformers cannot load it as {task}: {reason}") from None


def _longest_input(model: Any, config: dict[str, Any]) -> int:
    """The most tokens the model accepts: its position table, less the entries a RoBERTa-style
    model never uses (it numbers positions from pad_token_id + 1). Found by running it."""
    table = int(config.get("max_position_embeddings") or 512)
    pad = config.get("pad_token_id")
    for length in dict.fromkeys([table, table - (pad + 1) if isinstance(pad, int) else table]):
        ids = torch.full((1, length), 5 if pad != 5 else 6)
        try:
            with torch.inference_mode():
                model(input_ids=ids, attention_mask=torch.ones_like(ids))
            return length
        except (IndexError, RuntimeError):
            continue
    raise PackageError(f"the model does not run on {table} tokens, its config's max_position_embeddings")


class Graph(torch.nn.Module):
    """The traced function: token ids and attention mask in, the task's one output out."""

    def __init__(self, model: Any, task: str) -> None:
        super().__init__()
        self.model = model
        self.output = "last_hidden_state" if task == "feature-extraction" else "logits"

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return getattr(self.model(input_ids=input_ids, attention_mask=attention_mask), self.output)


def _export(model: Any, built: ModelPackage, task: str) -> None:
    """model.pt, model.int8.pt and model.onnx, from one trace each (docs/models.md: why TorchScript)."""
    # A padded batch, so that the traced graph takes the masked path every input then takes.
    encodings = load_tokenizer(built).encode_batch(
        ["a padded example", "a longer example of a text to trace the graph with"]
    )
    input_ids = torch.tensor([e.ids for e in encodings])
    attention_mask = torch.tensor([e.attention_mask for e in encodings])
    with warnings.catch_warnings():
        # Tracing warns about every Python-level branch; the parity check below is what proves the trace.
        warnings.simplefilter("ignore")
        with torch.inference_mode(False), torch.no_grad():
            traced = torch.jit.trace(Graph(model, task).eval(), (input_ids, attention_mask), check_trace=False)
            traced.save(str(built.directory / GRAPH_FILES["torch", "fp32"]))
            quantized = quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear: per_channel_dynamic_qconfig})
            traced_int8 = torch.jit.trace(Graph(quantized, task).eval(), (input_ids, attention_mask), check_trace=False)
            traced_int8.save(str(built.directory / GRAPH_FILES["torch", "int8"]))
            # The TorchScript exporter, from the trace: the dynamo exporter takes 20x longer for the same graph.
            axes = {0: "batch", 1: "sequence"}
            torch.onnx.export(
                traced,
                (input_ids, attention_mask),
                str(built.directory / GRAPH_FILES["onnx", "fp32"]),
                input_names=["input_ids", "attention_mask"],
                output_names=["output"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "output": axes},
                dynamo=False,
                opset_version=17,
            )
    for name in GRAPH_FILES.values():
        # torch writes owner-only files; the Lambda image runs as another user.
        (built.directory / name).chmod(0o644)


def check_parity(source: Path, built: ModelPackage, model: Any, texts: list[str]) -> dict[str, float]:
    """Serves `texts` through the runtime on both backends and compares with transformers; raises
    PackageError past PARITY_LIMIT (or on any other entity). Returns each backend's largest difference."""
    reference = _reference(source, built, model)
    expected = reference(texts)
    differences = {}
    for backend in ("torch", "onnx"):
        served = _served(built, backend)
        difference = _difference(built.task, expected, served(texts))
        if not difference < PARITY_LIMIT:
            raise PackageError(
                f"{source}: parity off by {difference:.1e} (limit {PARITY_LIMIT:.0e}): the {backend} backend's "
                f"answers differ from transformers'"
            )
        differences[backend] = float(f"{difference:.2e}")
    return differences


def _served(built: ModelPackage, backend: str) -> Callable[[list[str]], Any]:
    settings = Settings.model_validate(
        {"MODEL_DIR": built.directory, "MODEL_BACKEND": backend, "TORCH_THREADS": THREADS, "MAX_TEXT_CHARS": 100_000}
    )
    task = task_of(built)(built, settings)
    if isinstance(task, TextClassification):
        return task.probabilities
    if isinstance(task, FeatureExtraction):
        return task.embeddings
    return lambda texts: [task.answer(task.request_model(text=text)).model_dump()["entities"] for text in texts]


def _reference(source: Path, built: ModelPackage, model: Any) -> Callable[[list[str]], Any]:
    """transformers' (or sentence-transformers') own answers: one text at a time, no padding."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(source, local_files_only=True)
    max_tokens = built.max_tokens

    def outputs(text: str) -> Any:
        inputs = tokenizer(text, return_tensors="pt", truncation=True, max_length=max_tokens)
        with torch.inference_mode():
            return model(**inputs)

    if built.task == "text-classification":
        activation = torch.sigmoid if built.multi_label else (lambda logits: torch.softmax(logits, dim=-1))
        return lambda texts: np.stack([activation(outputs(text).logits[0]).numpy() for text in texts])
    if built.task == "token-classification":
        pipeline = transformers.pipeline(
            "token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="simple", device="cpu"
        )
        return lambda texts: [
            [
                {"label": e["entity_group"], "score": float(e["score"]), "start": e["start"], "end": e["end"]}
                for e in pipeline(text)
            ]
            for text in texts
        ]
    if (source / "modules.json").is_file():
        from sentence_transformers import SentenceTransformer

        sentence_model = SentenceTransformer(str(source), device="cpu", local_files_only=True)
        return lambda texts: sentence_model.encode(texts, convert_to_numpy=True, batch_size=1)

    def pooled(text: str) -> np.ndarray:
        tokens = outputs(text).last_hidden_state[0]
        vector = {"cls": tokens[0], "max": tokens.max(dim=0).values}.get(built.pooling, tokens.mean(dim=0))
        return torch.nn.functional.normalize(vector, dim=0).numpy() if built.normalize else vector.numpy()

    return lambda texts: np.stack([pooled(text) for text in texts])


def _difference(task: str, expected: Any, served: Any) -> float:
    """The largest score or value difference; infinite where the entities themselves differ."""
    if task != "token-classification":
        return float(np.abs(np.asarray(expected) - np.asarray(served)).max())
    worst = 0.0
    for want, got in zip(expected, served, strict=True):
        spans = [(e["label"], e["start"], e["end"]) for e in want]
        if spans != [(e["label"], e["start"], e["end"]) for e in got]:
            return float("inf")
        worst = max([worst, *(abs(w["score"] - g["score"]) for w, g in zip(want, got, strict=True))])
    return worst


def _sentence_transformers_pooling(source: Path) -> dict[str, Any]:
    """pooling, normalize and max_tokens as a sentence-transformers folder declares them (mean,
    unnormalized where it declares nothing)."""
    pooling_config = source / "1_Pooling" / "config.json"
    modes = read_json(pooling_config) if pooling_config.is_file() else {}
    flags = {"cls": "pooling_mode_cls_token", "max": "pooling_mode_max_tokens", "mean": "pooling_mode_mean_tokens"}
    pooling = next((mode for mode, flag in flags.items() if modes.get(flag)), "mean")
    modules = json.loads((source / "modules.json").read_text()) if (source / "modules.json").is_file() else []
    normalize = any(module.get("type", "").endswith("Normalize") for module in modules)
    declared = {"pooling": pooling, "normalize": normalize}
    # sentence-transformers truncates at its own max_seq_length, often below the position table's size.
    bert_config = source / "sentence_bert_config.json"
    if bert_config.is_file() and isinstance(read_json(bert_config).get("max_seq_length"), int):
        declared["max_tokens"] = read_json(bert_config)["max_seq_length"]
    return declared


def _replace(out: Path, staging: Path) -> None:
    """Moves the finished package into place (replacing an older one only now)."""
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        staging.rename(out)
        shutil.rmtree(old)
    else:
        staging.rename(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="a Hugging Face model folder (save_pretrained's output)")
    parser.add_argument("out", type=Path, help="the package folder to write, e.g. model_artifacts/<name>")
    # Not argparse's `choices`: its refusal is a usage block, not the one line every other refusal is.
    parser.add_argument(
        "--task", help=f"{', '.join(TASKS)}; default: model_card.json's task, else inferred from config.json"
    )
    parser.add_argument("--name", help="default: model_card.json's name, else OUT's folder name")
    parser.add_argument("--version", help="default: model_card.json's version, else 1.0.0")
    args = parser.parse_args(argv)
    try:
        built = package(args.model, args.out, task=args.task, name=args.name, version=args.version)
    except PackageError as error:
        print(f"make package: {error}", file=sys.stderr)
        return 2
    parity = ", ".join(f"{backend} {difference:.0e}" for backend, difference in built.card["parity"].items())
    print(
        f"wrote {built.directory}: {built.name} {built.version}, {built.task}, {built.card['architecture']}; "
        f"answers match transformers' within {parity}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
