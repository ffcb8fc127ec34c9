"""The naive baseline of a custom package (the merchant-normalizer): the plain script a tutorial
writes for its own nn.Module, the yardstick of the handler's cold start (benchmarks/run.py).

torch imported at module level, the network's class taken from the package's predictor.py, the
module built and its state dict loaded at init, one answer per request: no runtime around it.
"""

import importlib.util
import json
import os

import torch

MODEL_DIR = os.environ["MODEL_DIR"]
_spec = importlib.util.spec_from_file_location("predictor", os.path.join(MODEL_DIR, "predictor.py"))
assert _spec is not None and _spec.loader is not None  # a .py file's spec has a loader
predictor = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(predictor)


def load():
    checkpoint = torch.load(os.path.join(MODEL_DIR, "model.pt"), map_location="cpu", weights_only=True)
    model = predictor.MerchantNormalizer(checkpoint["alphabet"], **checkpoint["sizes"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()


def lambda_handler(event: dict, model) -> dict:
    sentence = json.loads(event["body"])["sentence"]
    return {"statusCode": 200, "body": json.dumps({"output": model.normalize([sentence])[0]})}
