"""The naive baseline: a Lambda handler written the way the tutorials write it.

torch and transformers imported at module level, the Auto classes, every text padded to the
model's maximum length, torch.no_grad. It is the yardstick, not a model for the runtime.

The tutorials pad to max_length=512; this model's position table has 128 entries (training cut
it there), so the baseline pads to the tokenizer's model_max_length, 128: 512 would fail.
"""

import json
import os

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

MODEL_DIR = os.environ["MODEL_DIR"]


def load():
    tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
    model = AutoModelForSequenceClassification.from_pretrained(MODEL_DIR)
    model.eval()
    return tokenizer, model


def encode(tokenizer, texts: list[str]) -> dict:
    return tokenizer(texts, padding="max_length", truncation=True, return_tensors="pt")


def forward(model, inputs: dict) -> torch.Tensor:
    with torch.no_grad():
        return model(**inputs).logits


def lambda_handler(event: dict, tokenizer, model) -> dict:
    text = json.loads(event["body"])["text"]
    probabilities = forward(model, encode(tokenizer, [text])).softmax(dim=-1)[0]
    index = int(probabilities.argmax())
    body = {"label": model.config.id2label[index], "score": float(probabilities[index])}
    return {"statusCode": 200, "body": json.dumps(body)}
