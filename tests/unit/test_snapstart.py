"""SnapStart's hooks, as the handler registers them, run around the real handler and model the
way the Lambda runtime runs them (tests/integration/test_runtime_client.py runs them under
awslambdaric itself)."""

import json
import random

import numpy as np
import pytest
import torch
from snapshot_restore_py import get_after_restore, get_before_snapshot

from local.lambda_context import LocalLambdaContext


def registered(hooks: list) -> list:
    return [(func, args, kwargs) for func, args, kwargs in hooks if func.__module__ == "inference.snapstart"]


@pytest.fixture
def before_snapshot(handler_module):
    ((func, args, kwargs),) = registered(get_before_snapshot())
    return lambda: func(*args, **kwargs)


@pytest.fixture
def after_restore(handler_module):
    """The hook; the metrics it adds and no invocation flushed are dropped after the test."""
    ((func, args, kwargs),) = registered(get_after_restore())
    yield lambda: func(*args, **kwargs)
    handler_module.metrics.clear_metrics()


def draws() -> tuple:
    return random.random(), float(np.random.random()), float(torch.rand(1))


def test_the_handler_registers_its_hooks_with_its_logger_and_metrics(handler_module) -> None:
    ((_, (predict_once, before_logger), _),) = registered(get_before_snapshot())
    ((_, after_args, _),) = registered(get_after_restore())
    assert before_logger is handler_module.logger
    assert after_args == (handler_module.logger, handler_module.metrics)
    # What the hook runs before the snapshot is a real prediction of the loaded model.
    answer = predict_once()
    assert answer.body["label"] in handler_module.RUNTIME.package.labels
    assert answer.body["model"]["name"] == handler_module.RUNTIME.package.name and answer.input_counts["texts"] == 1


def test_before_the_snapshot_the_model_answers_one_prediction(before_snapshot, handler_log) -> None:
    before_snapshot()
    [line] = [json.loads(line) for line in handler_log.getvalue().splitlines()]
    assert line["message"] == "snapshot warm-up"
    assert line["latency_ms"] > 0


def test_each_restore_seeds_every_generator_anew(after_restore) -> None:
    """Two environments restored from one snapshot start from the same generator states."""
    snapshot = random.getstate(), np.random.get_state(), torch.get_rng_state()
    draws_of = []
    for _ in range(2):
        random.setstate(snapshot[0])
        np.random.set_state(snapshot[1])
        torch.set_rng_state(snapshot[2])
        after_restore()
        draws_of.append(draws())
    first, second = draws_of
    assert all(a != b for a, b in zip(first, second, strict=True))


def test_a_restore_is_logged_and_counted_with_the_first_invocations_metrics(
    handler_module, after_restore, handler_log, capsys, monkeypatch
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    after_restore()
    handler_module.lambda_handler({"warmup": True}, LocalLambdaContext())
    logged = [json.loads(line)["message"] for line in handler_log.getvalue().splitlines()]
    assert logged == ["restored from snapshot"]
    published = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    restores = [record for record in published if "Restores" in record]
    assert [record["Restores"] for record in restores] == [[1.0]]
