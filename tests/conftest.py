"""Shared fixtures. The runtime tests use the real model in model_artifacts/ (`make test` builds it)."""

import io

import pytest

from local.lambda_context import LocalLambdaContext


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
