"""Any encoder architecture, every task, both backends (issue #12): a tiny random model of each
architecture is packaged with `make package`'s package(), served by the runtime on torch and on
onnx, and answers as transformers does on the same texts: probabilities and embeddings within
1e-4, the same entities at the same character offsets.

The API rounds scores to 4 decimals and embeddings to 6, so its answers are compared within the
limit plus half the last decimal; the task models' unrounded methods are compared within 1e-4.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from inference.runtime import Runtime
from inference.settings import Settings
from inference.tasks.feature_extraction import FeatureExtraction
from inference.tasks.text_classification import TextClassification
from tests.packaging.conftest import Built
from tests.packaging.reference import token_counter
from tests.packaging.tiny_models import (
    ARCHITECTURES,
    CLASS_LABELS,
    SENTENCE_TRANSFORMERS_ARCHITECTURE,
    SENTENCE_TRANSFORMERS_MAX_SEQ_LENGTH,
    TASKS,
    TEXTS,
)

LIMIT = 1e-4
SCORE_LIMIT = LIMIT + 0.5e-4  # the API's scores: 4 decimals
EMBEDDING_LIMIT = LIMIT + 0.5e-6  # the API's embeddings: 6 decimals
BACKENDS = ("torch", "onnx")

CASES = [pytest.param(a, t, False, id=f"{a}-{t}") for a in ARCHITECTURES for t in TASKS] + [
    pytest.param("bert", "text-classification", True, id="bert-text-classification-multi-label")
]


def _runtime(built: Built, backend: str, variant: str = "fp32") -> Runtime:
    # One thread: the graphs are tiny, and the cores are shared.
    settings = Settings(
        MODEL_DIR=str(built.package.directory), MODEL_BACKEND=backend, MODEL_VARIANT=variant, TORCH_THREADS=1
    )
    return Runtime.load(settings)


def _classifier(runtime: Runtime) -> TextClassification:
    """The runtime's model as the text-classification task's, for its unrounded probabilities()."""
    assert isinstance(runtime.task, TextClassification)
    return runtime.task


def _embedder(runtime: Runtime) -> FeatureExtraction:
    """The runtime's model as the feature-extraction task's, for its unrounded embeddings()."""
    assert isinstance(runtime.task, FeatureExtraction)
    return runtime.task


def _answers(runtime: Runtime, **fields: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The batch answer's predictions and each text's single answer, checked to name the model."""
    answer = runtime.answer({"texts": TEXTS, **fields})
    batch = answer.body
    assert answer.input_counts == {"texts": len(TEXTS), "chars": sum(map(len, TEXTS))}
    assert batch["model"] == {"name": runtime.package.name, "version": runtime.package.version}
    singles = []
    for text in TEXTS:
        single = runtime.answer({"text": text, **fields}).body
        assert single.pop("model") == batch["model"]
        singles.append(single)
    return batch, singles


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("architecture", "task", "multi_label"), CASES)
def test_runtime_answers_as_transformers(
    built: Callable[..., Built], architecture: str, task: str, multi_label: bool, backend: str
) -> None:
    case = built(architecture, task, multi_label)
    assert case.package.task == task
    assert case.package.card["architecture"] == architecture  # config.json's model_type
    runtime = _runtime(case, backend)
    check = {"text-classification": _check_classification, "token-classification": _check_entities}
    check.get(task, _check_embeddings)(runtime, case)


def _check_classification(runtime: Runtime, case: Built) -> None:
    expected = case.reference.probabilities
    assert expected is not None
    labels = case.package.labels
    assert labels == CLASS_LABELS
    served = _classifier(runtime).probabilities(TEXTS)
    assert served.shape == expected.shape
    worst = float(np.abs(served - expected).max())
    assert worst <= LIMIT, f"probabilities off by {worst:.2e}\nserved {served}\nexpected {expected}"

    batch, singles = _answers(runtime, top_k=len(labels))
    for name, predictions in (("batch", batch["predictions"]), ("single", singles)):
        assert len(predictions) == len(TEXTS)
        for text, row, prediction in zip(TEXTS, expected, predictions, strict=True):
            context = f"{name} answer for {text[:40]!r}"
            # top_k = every label: the whole distribution, highest first.
            ranked = prediction["top_k"]
            assert sorted(item["label"] for item in ranked) == sorted(labels), context
            scores = [item["score"] for item in ranked]
            assert scores == sorted(scores, reverse=True), context
            for item in ranked:
                assert abs(item["score"] - row[labels.index(item["label"])]) <= SCORE_LIMIT, (context, item, row)
            assert (prediction["label"], prediction["score"]) == (ranked[0]["label"], ranked[0]["score"]), context
            # The top label is transformers' argmax (or ties it within the limit).
            assert row.max() - row[labels.index(prediction["label"])] <= LIMIT, context
            if runtime.package.multi_label:
                _check_threshold(prediction["labels"], row, labels, 0.5, context)
            else:
                assert "labels" not in prediction, context
                assert abs(sum(scores) - 1) <= len(scores) * 0.5e-4, context

    if runtime.package.multi_label:
        # The request's threshold, and the default top_k (3).
        batch = runtime.answer({"texts": TEXTS, "threshold": 0.9}).body
        for row, prediction in zip(expected, batch["predictions"], strict=True):
            _check_threshold(prediction["labels"], row, labels, 0.9, "threshold 0.9")
            assert len(prediction["top_k"]) == 3


def _check_threshold(
    answered: list[dict[str, Any]], row: np.ndarray, labels: list[str], threshold: float, context: str
) -> None:
    """Every label at or above the threshold, highest first (labels within the limit of it may go either way)."""
    sure_in = {label for label, p in zip(labels, row, strict=True) if p >= threshold + LIMIT}
    maybe = {label for label, p in zip(labels, row, strict=True) if abs(p - threshold) < LIMIT}
    got = [item["label"] for item in answered]
    assert sure_in <= set(got) <= sure_in | maybe, (context, answered, row)
    assert [item["score"] for item in answered] == sorted((item["score"] for item in answered), reverse=True)


def _check_entities(runtime: Runtime, case: Built) -> None:
    expected = case.reference.entities
    assert expected is not None
    batch, singles = _answers(runtime)
    for name, predictions in (("batch", batch["predictions"]), ("single", singles)):
        assert len(predictions) == len(TEXTS)
        for text, want, prediction in zip(TEXTS, expected, predictions, strict=True):
            got = prediction["entities"]
            context = f"{name} answer for {text[:40]!r}"
            for entity in got:
                assert entity["text"] == text[entity["start"] : entity["end"]], (context, entity)
                assert entity["label"] in {"MERCHANT", "LOCATION"}, (context, entity)
            spans = [(e["label"], e["start"], e["end"]) for e in got]
            want_spans = [(e["label"], e["start"], e["end"]) for e in want]
            assert spans == want_spans, f"{context}: entities differ from transformers' pipeline\n" + _span_diff(
                text, want_spans, spans
            )
            worst = max((abs(g["score"] - w["score"]) for g, w in zip(got, want, strict=True)), default=0.0)
            assert worst <= SCORE_LIMIT, f"{context}: entity scores off by {worst:.2e}"


def _span_diff(text: str, want: list[tuple[str, int, int]], got: list[tuple[str, int, int]]) -> str:
    missing = [(label, start, end, text[start:end]) for label, start, end in want if (label, start, end) not in got]
    extra = [(label, start, end, text[start:end]) for label, start, end in got if (label, start, end) not in want]
    return f"only transformers: {missing}\nonly the runtime: {extra}"


def _check_embeddings(runtime: Runtime, case: Built) -> None:
    expected = case.reference.embeddings
    assert expected is not None
    served = _embedder(runtime).embeddings(TEXTS)
    assert served.shape == expected.shape
    worst = float(np.abs(served - expected).max())
    assert worst <= LIMIT, f"embeddings off by {worst:.2e}"
    batch, singles = _answers(runtime)
    dims = expected.shape[1]
    assert batch["dims"] == dims
    assert float(np.abs(np.array(batch["embeddings"]) - expected).max()) <= EMBEDDING_LIMIT
    for text, row, single in zip(TEXTS, expected, singles, strict=True):
        assert single["dims"] == dims
        assert float(np.abs(np.array(single["embedding"]) - row).max()) <= EMBEDDING_LIMIT, text[:40]


@pytest.mark.parametrize(("architecture", "task", "multi_label"), CASES)
def test_the_comparison_is_not_trivial(
    built: Callable[..., Built], architecture: str, task: str, multi_label: bool
) -> None:
    """Random models answer near-uniform scores, and no entities, unless their heads are scaled:
    the parity above would then prove little. These are properties of transformers' answers."""
    case = built(architecture, task, multi_label)
    if task == "text-classification":
        probabilities = case.reference.probabilities
        assert probabilities is not None
        if multi_label:
            # Labels both in and out, most of them far from the threshold.
            inside = (probabilities >= 0.5).sum(axis=1)
            assert inside.max() >= 1 and inside.min() < len(CLASS_LABELS), probabilities
            assert (np.abs(probabilities - 0.5) > 0.3).mean() > 0.5, probabilities
        else:
            assert (probabilities.max(axis=1) > 0.9).sum() >= len(TEXTS) * 2 / 3, probabilities
            assert len(set(probabilities.argmax(axis=1))) >= 2, probabilities
    elif task == "token-classification":
        found_of = case.reference.entities
        assert found_of is not None
        entities = [(text, e) for text, found in zip(TEXTS, found_of, strict=True) for e in found]
        assert len(entities) >= 10
        assert {e["label"] for _, e in entities} == {"MERCHANT", "LOCATION"}
        count = token_counter(case.source)
        several = [e for text, e in entities if count(text, e["start"], e["end"]) >= 2]
        assert len(several) >= 3, "too few entities of several tokens to compare how tokens join"
        assert sum(1 for found in found_of if found) >= 4
    else:
        embeddings = case.reference.embeddings
        assert embeddings is not None
        assert embeddings.shape == (len(TEXTS), 32)
        # Texts get different embeddings (a model answering one vector for all would pass trivially).
        distances = np.linalg.norm(embeddings[:, None] - embeddings[None], axis=-1)
        assert distances[~np.eye(len(TEXTS), dtype=bool)].min() > 1e-2
        if architecture == SENTENCE_TRANSFORMERS_ARCHITECTURE:
            assert case.package.card["normalize"] is True
            assert case.package.card["max_tokens"] == SENTENCE_TRANSFORMERS_MAX_SEQ_LENGTH
            assert np.allclose(np.linalg.norm(embeddings, axis=1), 1, atol=1e-5)


@pytest.mark.parametrize("task", TASKS)
def test_int8_variant_answers_in_the_same_shape(built: Callable[..., Built], task: str) -> None:
    """MODEL_VARIANT=int8 loads model.int8.pt; its answers are not held to parity, only to the contract."""
    case = built("distilbert", task)
    runtime = _runtime(case, "torch", "int8")
    batch, singles = _answers(runtime)
    if task == "text-classification":
        for prediction in batch["predictions"] + singles:
            assert prediction["label"] in CLASS_LABELS and len(prediction["top_k"]) == 3
            assert 0 <= prediction["score"] <= 1
        assert np.allclose(_classifier(runtime).probabilities(TEXTS).sum(axis=1), 1, atol=1e-5)
    elif task == "token-classification":
        for text, prediction in zip(TEXTS * 2, batch["predictions"] + singles, strict=True):
            for entity in prediction["entities"]:
                assert entity["text"] == text[entity["start"] : entity["end"]]
    else:
        assert batch["dims"] == 32 and len(batch["embeddings"]) == len(TEXTS)
        assert all(len(single["embedding"]) == 32 for single in singles)
        # int8 is close to fp32, not equal: a loose sanity bound, not parity.
        reference = case.reference.embeddings
        assert reference is not None
        assert float(np.abs(np.array(batch["embeddings"]) - reference).max()) < 0.5
