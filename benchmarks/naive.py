"""The naive baseline: a Lambda handler per task, written the way the tutorials write it.

torch and transformers imported at module level, `from_pretrained` at init, one answer per
request. It is the yardstick, not a way to serve:

- text-classification: AutoModelForSequenceClassification, softmax over the logits;
- feature-extraction: AutoModel, mean pooling over the attention mask, then unit length (what the
  all-MiniLM-L6-v2 card says to do without sentence-transformers);
- token-classification: transformers.pipeline("token-classification", aggregation_strategy="simple").

Inputs are tokenized with dynamic padding (`tokenizer(text, return_tensors="pt")`, a single text is
padded to nothing), the forward runs under torch.inference_mode. `encode` and `forward` are what the
benchmarks time as the baseline's raw forward: the model call alone, on inputs tokenized beforehand.
"""

import json
import os

import torch
import transformers

MODEL_DIR = os.environ["MODEL_DIR"]
TASK = os.environ["NAIVE_TASK"]


class Naive:
    def __init__(self) -> None:
        if TASK == "token-classification":
            self.pipeline = transformers.pipeline("token-classification", model=MODEL_DIR, aggregation_strategy="simple", device="cpu")
            self.tokenizer, self.model = self.pipeline.tokenizer, self.pipeline.model
        else:
            auto = transformers.AutoModelForSequenceClassification if TASK == "text-classification" else transformers.AutoModel
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(MODEL_DIR)
            self.model = auto.from_pretrained(MODEL_DIR)
        self.model.eval()

    def encode(self, text: str) -> dict:
        return self.tokenizer(text, truncation=True, return_tensors="pt")

    def forward(self, inputs: dict):
        with torch.inference_mode():
            return self.model(**inputs)

    def answer(self, text: str) -> dict:
        if TASK == "token-classification":
            entities = self.pipeline(text)
            return {"entities": [{k: getattr(v, "item", lambda v=v: v)() for k, v in e.items()} for e in entities]}
        inputs = self.encode(text)
        outputs = self.forward(inputs)
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
    text = json.loads(event["body"])["text"]
    return {"statusCode": 200, "body": json.dumps(model.answer(text))}
