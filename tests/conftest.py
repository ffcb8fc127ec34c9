"""Shared fixtures. The runtime tests use the real model in model_artifacts/ (`make test` builds it)."""

import io
import os

import pytest
from hypothesis import HealthCheck, settings

from local.lambda_context import LocalLambdaContext

# Property tests: this many examples per test in the regular suite, and many more under
# `make fuzz` (HYPOTHESIS_PROFILE=fuzz). No deadline: tests never assert wall-clock times.
# The handler fixtures are function-scoped on purpose: each example's log is read on its own.
settings.register_profile(
    "suite", max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.register_profile("fuzz", settings.get_profile("suite"), max_examples=5_000)
# `make unit`, the inner loop: a few examples each, the suite's 250 run in `make test`.
settings.register_profile("unit", settings.get_profile("suite"), max_examples=10)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))


@pytest.fixture(scope="session")
def handler_module():
    """inference.handler, imported once: importing it loads the model, as Lambda's init does."""
    from inference import handler

    return handler


@pytest.fixture
def invoke(handler_module):
    """Call the Lambda handler as the Lambda runtime would, with a fresh context."""

    def call(event):
        return handler_module.lambda_handler(event, LocalLambdaContext())

    return call


@pytest.fixture
def handler_log(handler_module):
    """Everything the handler's Powertools logger writes during the test, as text."""
    buffer = io.StringIO()
    stream_handler = handler_module.logger.registered_handler
    previous = stream_handler.setStream(buffer)
    yield buffer
    stream_handler.setStream(previous)


@pytest.fixture(scope="session")
def task_runtimes(handler_module):
    """A runtime per task, each a demo package of model_artifacts/: the classifier (the handler's
    own), the entities (NER) model, the embeddings, the digits image classifier and the
    merchant-normalizer (custom: its own predictor.py)."""
    from inference.runtime import Runtime
    from inference.settings import REPO_MODEL_DIR, Settings

    return {
        "text-classification": handler_module.RUNTIME,
        "token-classification": Runtime.load(Settings(MODEL_DIR=str(REPO_MODEL_DIR.parent / "transaction-entities"))),
        "feature-extraction": Runtime.load(Settings(MODEL_DIR=str(REPO_MODEL_DIR.parent / "embeddings"))),
        "image-classification": Runtime.load(Settings(MODEL_DIR=str(REPO_MODEL_DIR.parent / "digits"))),
        "custom": Runtime.load(Settings(MODEL_DIR=str(REPO_MODEL_DIR.parent / "merchant-normalizer"))),
    }


@pytest.fixture
def serve_task(handler_module, task_runtimes, monkeypatch):
    """serve_task(task): the handler serves that task's package for the rest of the test."""

    def serve(task: str):
        monkeypatch.setattr(handler_module.FUNCTION, "runtime", task_runtimes[task])
        return task_runtimes[task]

    return serve
