"""One measured process: `python -I -S benchmarks/probe.py < request.json`, run by benchmarks/run.py.

-I -S leave only the standard library on sys.path; the request names the directories to add (the
image's layout: the task root and the installed requirements, or the naive baseline's), the
subject ("handler" or "naive"), the mode ("cold" or "warm") and the events to replay. The last
line printed is the JSON report; times are time.perf_counter() stamps (CLOCK_MONOTONIC, the same
clock in every process), so run.py can subtract the moment it spawned this process.
"""

import json
import os
import sys
import time
import types
from typing import Any

started = time.perf_counter()
request = json.load(sys.stdin)
sys.path[:0] = request["paths"]
context = types.SimpleNamespace(**request["context"])
# The modules the handler needs before it loads the model: timed as "imports". The runtime imports
# its backend's framework (torch, or onnxruntime) only when it loads the graph; it is imported here
# first so that "model load" is loading the package, not importing a framework.
HANDLER_IMPORTS = [
    "aws_lambda_powertools",
    "inference.events",
    "inference.runtime",
    "inference.schema",
    "inference.settings",
]
BACKEND_FRAMEWORK = {"torch": "torch", "onnx": "onnxruntime"}


def timed(calls) -> list[float]:
    """Seconds each call took, in order."""
    durations = []
    for call in calls:
        before = time.perf_counter()
        call()
        durations.append(time.perf_counter() - before)
    return durations


def load_handler():
    import importlib

    for name in [*HANDLER_IMPORTS, BACKEND_FRAMEWORK[os.environ.get("MODEL_BACKEND", "torch")]]:
        importlib.import_module(name)
    imported = time.perf_counter()
    from inference.handler import lambda_handler

    def answer(event):
        return lambda_handler(event, context)

    return imported, answer


def load_naive():
    import importlib

    # benchmarks/naive.py (transformers), or naive_custom.py for a custom package's own nn.Module.
    naive = importlib.import_module(os.environ.get("NAIVE_MODULE", "naive"))

    imported = time.perf_counter()
    model = naive.load()

    def answer(event):
        return naive.lambda_handler(event, model)

    return imported, answer, model


def serve_handler(answer) -> dict:
    """Warm numbers through the whole handler: event in, JSON out."""
    singles = timed(lambda event=event: answer(event) for event in request["singles"])
    # The model alone on inputs prepared beforehand (tokenized, decoded, or validated): what the
    # handler adds to its model.
    import numpy as np

    from inference.handler import RUNTIME
    from inference.schema import validate

    # The task's own class (Task declares only the contract): its graph, encoder, request_model or,
    # for a custom package, its predictor.
    model: Any = RUNTIME.task
    forwards: list = []
    if request["task"] == "custom":
        # The predictor's own predict on requests validated beforehand: what the runtime adds to it.
        validated = [validate(model.request_model, json.loads(event["body"])) for event in request["singles"]]
        forwards = [lambda call=call: model.predictor.predict(call) for call in validated]
    elif request["task"] == "image-classification":
        for event in request["singles"]:
            [image] = validate(model.request_model, {"image": event["body"]}).batch
            forwards.append(lambda inputs=(image.pixels[None],): model.graph(*inputs))
    else:
        encoder = model.encoder
        for event in request["singles"]:
            encoding = encoder.tokenizer.encode(json.loads(event["body"])["text"])
            inputs = (np.array([encoding.ids], dtype=np.int64), np.array([encoding.attention_mask], dtype=np.int64))
            forwards.append(lambda inputs=inputs: encoder.graph(*inputs))
    forward_times = timed(forwards)
    batches = {
        size: timed(lambda event=event: answer(event) for event in events)
        for size, events in request["batches"].items()
    }
    warmups = timed(lambda: answer({"warmup": True}) for _ in range(50))
    return {"singles": singles, "forwards": forward_times, "batches": batches, "warmups": warmups}


def serve_naive(answer, model) -> dict:
    """Warm numbers of the baseline: its whole handler, and its raw forward alone (inputs encoded
    beforehand, dynamic padding: a single text is not padded)."""
    singles = timed(lambda event=event: answer(event) for event in request["singles"])
    encoded = [model.encode_event(event) for event in request["singles"]]
    forwards = timed(lambda inputs=inputs: model.forward(inputs) for inputs in encoded)
    return {"singles": singles, "forwards": forwards}


if request["subject"] == "handler":
    imported, answer = load_handler()
    naive_model = None
else:
    imported, answer, naive_model = load_naive()
loaded = time.perf_counter()
first = answer(request["singles"][0])
answered = time.perf_counter()
assert first["statusCode"] == 200, first
report = {"started": started, "imported": imported, "loaded": loaded, "answered": answered}
if request["mode"] == "warm":
    report |= serve_handler(answer) if request["subject"] == "handler" else serve_naive(answer, naive_model)
# VmHWM, this address space's peak: ru_maxrss would carry the bench process's own peak over (a
# child started with vfork records its parent's high-water mark when it execs).
with open("/proc/self/status") as status:
    report["peak_rss_mb"] = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
print(json.dumps(report))
