"""Lambda SnapStart's runtime hooks (deployment/settings.py `snapstart`; docs/deploy.md).

With SnapStart, Lambda runs the init once when a version is published, snapshots the memory and
restores every new execution environment from that snapshot. The Lambda runtime calls these
hooks (registered with snapshot_restore_py, which it ships and awslambdaric runs) only then:
- before the snapshot: one prediction, so the kernels and caches the first request would build
  lazily are built already and saved in the snapshot;
- after each restore: fresh seeds for every random generator (otherwise every environment
  restored from one snapshot would draw the same numbers), and a log line and a `Restores`
  metric, flushed with the first invocation's metrics.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable

import numpy as np
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from snapshot_restore_py import register_after_restore, register_before_snapshot


def register(predict_once: Callable[[], object], logger: Logger, metrics: Metrics) -> None:
    """Registers the hooks, which the Lambda runtime runs; `predict_once` answers one request."""
    register_before_snapshot(_before_snapshot, predict_once, logger)
    register_after_restore(_after_restore, logger, metrics)


def _before_snapshot(predict_once: Callable[[], object], logger: Logger) -> None:
    started = time.perf_counter()
    predict_once()
    logger.info("snapshot warm-up", extra={"latency_ms": round((time.perf_counter() - started) * 1000, 1)})


def _after_restore(logger: Logger, metrics: Metrics) -> None:
    seed = int.from_bytes(os.urandom(8), "big")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:  # the onnx image has no torch
        sys.modules["torch"].manual_seed(seed)
    logger.info("restored from snapshot")
    metrics.add_metric(name="Restores", unit=MetricUnit.Count, value=1)
