"""The naive baseline: a Lambda handler per task, written the way the tutorials write it.

torch (and transformers, or Pillow and the network's class) imported at module level, the model
loaded at init, one answer per request. It is the yardstick, not a way to serve:

- text-classification: AutoModelForSequenceClassification, softmax over the logits;
- feature-extraction: AutoModel, mean pooling over the attention mask, then unit length (what the
  all-MiniLM-L6-v2 card says to do without sentence-transformers);
- token-classification: transformers.pipeline("token-classification", aggregation_strategy="simple");
- image-classification: the digits' nn.Module (training/digits_net.py) built, its state_dict loaded
  from model.safetensors; the image decoded with Pillow, made as the card says, softmax over the logits.

Text inputs are tokenized with dynamic padding (`tokenizer(text, return_tensors="pt")`, a single text
is padded to nothing), the forward runs under torch.inference_mode. `encode_event` and `forward` are
what the benchmarks time as the baseline's raw forward: the model call alone, on inputs prepared
beforehand.
"""

import base64
import io
import json
import os
from typing import Any

import torch

MODEL_DIR = os.environ["MODEL_DIR"]
TASK = os.environ["NAIVE_TASK"]
if TASK == "image-classification":
    import numpy as np
    from digits_net import DigitsCNN
    from PIL import Image
    from safetensors.torch import load_file
else:
    import transformers


class Naive:
    # A transformers tokenizer and model, a pipeline's, or the digits' nn.Module: one class per task.
    tokenizer: Any
    model: Any

    def __init__(self) -> None:
        if TASK == "image-classification":
            with open(os.path.join(MODEL_DIR, "model_card.json")) as card:
                self.card = json.load(card)
            self.model = DigitsCNN(len(self.card["labels"]))
            self.model.load_state_dict(load_file(os.path.join(MODEL_DIR, "model.safetensors")))
        elif TASK == "token-classification":
            self.pipeline = transformers.pipeline(
                "token-classification", model=MODEL_DIR, aggregation_strategy="simple", device="cpu"
            )
            self.tokenizer, self.model = self.pipeline.tokenizer, self.pipeline.model
        else:
            auto = (
                transformers.AutoModelForSequenceClassification
                if TASK == "text-classification"
                else transformers.AutoModel
            )
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(MODEL_DIR)
            self.model = auto.from_pretrained(MODEL_DIR)
        self.model.eval()

    def encode(self, text: str) -> dict:
        return self.tokenizer(text, truncation=True, return_tensors="pt")

    def decode(self, raw: bytes) -> dict:
        spec = self.card["image"]
        image = (
            Image.open(io.BytesIO(raw))
            .convert(spec["mode"])
            .resize((spec["width"], spec["height"]), Image.Resampling.BOX)
        )
        pixels = 1 - np.asarray(image, dtype=np.float32) / 255  # the card's invert: dark ink, light paper
        return {"pixels": torch.from_numpy((pixels - spec["mean"][0]) / spec["std"][0])[None, None]}

    def encode_event(self, event: dict) -> dict:
        if TASK == "image-classification":
            return self.decode(base64.b64decode(event["body"]))
        return self.encode(json.loads(event["body"])["text"])

    def forward(self, inputs: dict):
        with torch.inference_mode():
            return self.model(**inputs)

    def answer(self, event: dict) -> dict:
        if TASK == "token-classification":
            entities = self.pipeline(json.loads(event["body"])["text"])
            return {"entities": [{k: getattr(v, "item", lambda v=v: v)() for k, v in e.items()} for e in entities]}
        inputs = self.encode_event(event)
        outputs = self.forward(inputs)
        if TASK == "image-classification":
            probabilities = outputs.softmax(dim=-1)[0]
            index = int(probabilities.argmax())
            return {"label": self.card["labels"][index], "score": float(probabilities[index])}
        if TASK == "text-classification":
            probabilities = outputs.logits.softmax(dim=-1)[0]
            index = int(probabilities.argmax())
            return {"label": self.model.config.id2label[index], "score": float(probabilities[index])}
        mask = inputs["attention_mask"].unsqueeze(-1).to(outputs.last_hidden_state.dtype)
        pooled = (outputs.last_hidden_state * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return {"embedding": torch.nn.functional.normalize(pooled, dim=1)[0].tolist()}


def load() -> Naive:
    return Naive()


def lambda_handler(event: dict, model: Naive) -> dict:
    return {"statusCode": 200, "body": json.dumps(model.answer(event))}
