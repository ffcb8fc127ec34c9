"""The plain-torch BERT of the runtime against transformers' own BertForSequenceClassification."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer
from transformers import AutoModelForSequenceClassification

from inference.bert import BertConfig, BertForSequenceClassification
from inference.settings import REPO_MODEL_DIR
from training.common import read_split

BATCH = 32
# Every 8th line of the test split: 123 varied texts, all within 1e-4 of the reference; the
# whole split would add half a minute to the suite for no more evidence.
SAMPLE_STEP = 8


@pytest.fixture(scope="module")
def sample_batches() -> list[dict[str, torch.Tensor]]:
    """The test split tokenized in padded batches, as the runtime tokenizes them."""
    tokenizer = Tokenizer.from_file(str(REPO_MODEL_DIR / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=BertConfig.from_file(REPO_MODEL_DIR / "config.json").max_position_embeddings)
    tokenizer.enable_padding()
    texts = [row["text"] for row in read_split("test")[::SAMPLE_STEP]]
    batches = []
    for start in range(0, len(texts), BATCH):
        encodings = tokenizer.encode_batch(texts[start : start + BATCH])
        batches.append(
            {
                "input_ids": torch.tensor([e.ids for e in encodings]),
                "attention_mask": torch.tensor([e.attention_mask for e in encodings]),
            }
        )
    return batches


@torch.inference_mode()
def test_logits_match_transformers_on_a_sample_of_the_test_split(sample_batches):
    ours = BertForSequenceClassification.from_folder(REPO_MODEL_DIR)
    reference = AutoModelForSequenceClassification.from_pretrained(REPO_MODEL_DIR, local_files_only=True).eval()
    for batch in sample_batches:
        expected = reference(**batch).logits
        torch.testing.assert_close(ours(**batch), expected, atol=1e-4, rtol=1e-4)


def test_a_single_unpadded_text_gives_the_logits_it_gets_inside_a_padded_batch(sample_batches):
    model = BertForSequenceClassification.from_folder(REPO_MODEL_DIR)
    batch = sample_batches[0]
    length = int(batch["attention_mask"][0].sum())
    with torch.inference_mode():
        alone = model(batch["input_ids"][:1, :length], batch["attention_mask"][:1, :length])
        padded = model(**batch)[:1]
    torch.testing.assert_close(alone, padded, atol=1e-4, rtol=1e-4)


def test_labels_are_id2label_in_id_order():
    config = BertConfig.from_file(REPO_MODEL_DIR / "config.json")
    id2label = json.loads((REPO_MODEL_DIR / "config.json").read_text())["id2label"]
    assert config.labels == [id2label[str(i)] for i in range(len(id2label))]


@pytest.mark.parametrize(
    ("key", "value"), [("model_type", "roberta"), ("hidden_act", "relu"), ("position_embedding_type", "relative_key")]
)
def test_a_config_this_network_does_not_compute_is_refused_at_load(tmp_path, key, value):
    config = json.loads((REPO_MODEL_DIR / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, key: value}))
    with pytest.raises(ValueError, match=f"{key} is '{value}'"):
        BertConfig.from_file(tmp_path / "config.json")


def test_a_missing_weight_is_an_error_not_a_random_init(tmp_path):
    shutil.copy(REPO_MODEL_DIR / "config.json", tmp_path / "config.json")
    weights = load_file(REPO_MODEL_DIR / "model.safetensors")
    del weights["classifier.bias"]
    save_file(weights, tmp_path / "model.safetensors")
    with pytest.raises(RuntimeError, match="classifier.bias"):
        BertForSequenceClassification.from_folder(tmp_path)
