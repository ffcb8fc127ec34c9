"""Fixtures of the packaging tests: the tokenizers (trained once a session) and the tiny model
folders, their packages and transformers' answers, each built once, when a test first asks."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from inference.package import ModelPackage
from tests.packaging.reference import Reference, reference
from tests.packaging.tiny_models import (
    TEXTS,
    TOKENIZER_KINDS,
    TOKENIZER_OF,
    build_model_folder,
    build_tokenizer,
)

PACKAGE_TEXTS = TEXTS[:2]


@dataclass(frozen=True)
class Built:
    """One architecture x task: its Hugging Face folder, the package `make package` made of it,
    and transformers' answers for TEXTS."""

    source: Path
    package: ModelPackage
    reference: Reference


@pytest.fixture(scope="session")
def tokenizers() -> dict:
    return {kind: build_tokenizer(kind) for kind in TOKENIZER_KINDS}


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory, tokenizers: dict) -> Callable[..., Path]:
    """A fresh Hugging Face folder of a tiny random model: tiny_folder(architecture, task)."""

    def build(architecture: str, task: str, *, multi_label: bool = False, seed: int = 0) -> Path:
        root = tmp_path_factory.mktemp(f"{architecture}-{task}")
        tokenizer = tokenizers[TOKENIZER_OF[architecture]]
        return build_model_folder(architecture, task, tokenizer, root / "hf", multi_label=multi_label, seed=seed)

    return build


@pytest.fixture(scope="session")
def built(tiny_folder: Callable[..., Path]) -> Callable[..., Built]:
    """built(architecture, task, multi_label=False): the folder, packaged, with its reference;
    made once a session (the backends' tests share it)."""
    from tools.packager import package

    cache: dict[tuple[str, str, bool], Built] = {}

    def get(architecture: str, task: str, multi_label: bool = False) -> Built:
        key = (architecture, task, multi_label)
        if key not in cache:
            source = tiny_folder(architecture, task, multi_label=multi_label)
            # The task as `make package` infers it (a head, or modules.json), named where it cannot.
            plain_base_model = task == "feature-extraction" and not (source / "modules.json").is_file()
            # Its own parity check on two texts: the tests compare every text of TEXTS themselves.
            built_package = package(
                source, source.parent / "package", task=task if plain_base_model else None, texts=PACKAGE_TEXTS
            )
            cache[key] = Built(source, built_package, reference(source, task, TEXTS))
        return cache[key]

    return get
