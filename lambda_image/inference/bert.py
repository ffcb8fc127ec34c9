"""BERT for sequence classification in plain torch, for inference only.

Its parameters carry the names of Hugging Face's BertForSequenceClassification, so the
model.safetensors that training writes loads as is, strictly (a missing or unexpected weight is
an error, not a silent random init). tests/unit/test_bert.py checks its logits against
transformers' own implementation on the whole test split.

Why not transformers at run time: importing its modeling code pulls in torch._dynamo,
torch.distributed and more, ~2.4 s of a ~3.4 s cold start, for a network this small; and
the image is 0.2 GB lighter without it (measured in benchmarks/README.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from inference.bert_config import BertConfig


def _group(**modules: nn.Module) -> nn.ModuleDict:
    """A container that only gives its children Hugging Face's parameter names."""
    return nn.ModuleDict(modules)


class BertLayer(nn.Module):
    """One post-norm encoder layer: self-attention, then the feed-forward block."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        hidden, eps = config.hidden_size, config.layer_norm_eps
        self.heads = config.num_attention_heads
        self.attention = _group(
            self=_group(query=nn.Linear(hidden, hidden), key=nn.Linear(hidden, hidden), value=nn.Linear(hidden, hidden)),
            output=_group(dense=nn.Linear(hidden, hidden), LayerNorm=nn.LayerNorm(hidden, eps=eps)),
        )
        self.intermediate = _group(dense=nn.Linear(hidden, config.intermediate_size))
        self.output = _group(
            dense=nn.Linear(config.intermediate_size, hidden), LayerNorm=nn.LayerNorm(hidden, eps=eps)
        )

    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        batch, length, hidden = x.shape
        projections = self.attention.self
        query, key, value = (
            linear(x).view(batch, length, self.heads, -1).transpose(1, 2)
            for linear in (projections.query, projections.key, projections.value)
        )
        context = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask)
        context = context.transpose(1, 2).reshape(batch, length, hidden)
        x = self.attention.output.LayerNorm(self.attention.output.dense(context) + x)
        return self.output.LayerNorm(self.output.dense(F.gelu(self.intermediate.dense(x))) + x)


class BertForSequenceClassification(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        hidden = config.hidden_size
        self.bert = _group(
            embeddings=_group(
                word_embeddings=nn.Embedding(config.vocab_size, hidden),
                position_embeddings=nn.Embedding(config.max_position_embeddings, hidden),
                token_type_embeddings=nn.Embedding(config.type_vocab_size, hidden),
                LayerNorm=nn.LayerNorm(hidden, eps=config.layer_norm_eps),
            ),
            encoder=_group(layer=nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))),
            pooler=_group(dense=nn.Linear(hidden, hidden)),
        )
        self.classifier = nn.Linear(hidden, len(config.id2label))

    @classmethod
    def from_folder(cls, model_dir: Path) -> BertForSequenceClassification:
        """config.json + model.safetensors, in eval mode. The modules are built on the CPU with a
        throwaway random init (~0.1 s): building them on the meta device instead would import
        torch._dynamo for the embeddings (~1 s)."""
        model = cls(BertConfig.from_file(model_dir / "config.json"))
        model.load_state_dict(load_file(model_dir / "model.safetensors"), strict=True, assign=True)
        return model.eval()

    @torch.inference_mode()
    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """forward() on numpy arrays: the network interface inference/model.py shares with the
        onnx backend (inference/onnx_bert.py)."""
        return self(torch.from_numpy(input_ids), torch.from_numpy(attention_mask)).numpy()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits, one row per text. Every text is segment 0, as in training."""
        embeddings = self.bert.embeddings
        length = input_ids.shape[1]
        x = (
            embeddings.word_embeddings(input_ids)
            + embeddings.position_embeddings.weight[:length]
            + embeddings.token_type_embeddings.weight[0]
        )
        x = embeddings.LayerNorm(x)
        # No mask when nothing is padded (a single text): attention takes its fastest kernel. An
        # exported graph (training/export_onnx.py) cannot hold this data-dependent branch: it masks.
        unpadded = not torch.compiler.is_exporting() and bool(attention_mask.all())
        mask = None if unpadded else attention_mask[:, None, None, :].bool()
        for layer in self.bert.encoder.layer:
            x = layer(x, mask)
        return self.classifier(torch.tanh(self.bert.pooler.dense(x[:, 0])))
