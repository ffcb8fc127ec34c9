"""Lambda's entry point (the image's CMD: inference.handler.lambda_handler): the package in MODEL_DIR
behind inference/function.py, which adapts every kind of event to it."""

from __future__ import annotations

from inference import snapstart
from inference.function import Function
from inference.runtime import Runtime

# The model loads here, during the function's init phase, not per request. Logger and Metrics
# are made here too, as Powertools expects, so their decorators wrap the handler.
RUNTIME = Runtime.load()
FUNCTION = Function(RUNTIME)
logger = FUNCTION.logger
metrics = FUNCTION.metrics
lambda_handler = FUNCTION.handler
# SnapStart's hooks (run only under SnapStart): a prediction before the snapshot, new seeds after a restore.
snapstart.register(RUNTIME.warm_up, logger, metrics)
