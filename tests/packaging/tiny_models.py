"""Tiny, randomly initialised Hugging Face model folders of every encoder architecture the runtime
serves (issue #12), for the parity tests: no download, nothing from a hub.

Each architecture gets a tokenizer of the kind its real checkpoints ship, trained offline with
`tokenizers` on CORPUS: WordPiece (BERT, DistilBERT, ELECTRA, MPNet), byte-level BPE (RoBERTa) or
Unigram with Metaspace, SentencePiece style (XLM-RoBERTa, DeBERTa-v2, ALBERT), with the special
tokens and post-processor that architecture uses. The model is the architecture's config at tiny
sizes with the task's head, seeded; the head is scaled so that its probabilities are far from
uniform (and, for token classification, so that entities of several tokens occur): a comparison of
near-uniform scores would prove nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ARCHITECTURES = ("bert", "distilbert", "roberta", "xlm-roberta", "deberta-v2", "electra", "albert", "mpnet")
TASKS = ("text-classification", "token-classification", "feature-extraction")
CLASS_LABELS = ["groceries", "travel", "dining", "utilities"]
NER_LABELS = ["O", "B-MERCHANT", "I-MERCHANT", "B-LOCATION", "I-LOCATION"]
# The sentence-transformers-style folder (modules.json, 1_Pooling, Normalize); the others are plain
# base models the runtime mean-pools.
SENTENCE_TRANSFORMERS_ARCHITECTURE = "mpnet"
SENTENCE_TRANSFORMERS_MAX_SEQ_LENGTH = 96  # below LONG_TEXT's tokens: truncation is compared too

# What the tokenizers learn from: statement lines and plain sentences, some non-ASCII.
CORPUS = [
    "STARBUCKS STORE 10432 SEATTLE WA",
    "CVS/PHARMACY #04512 NEW YORK NY 10001",
    "RYANAIR DUBLIN FR8J2K",
    "AMAZON MKTPLACE PMTS AMZN.COM/BILL WA",
    "UBER *TRIP HELP.UBER.COM CA",
    "SHELL OIL 57442 HOUSTON TX",
    "WHOLEFDS MKT 10234 AUSTIN TX",
    "NETFLIX.COM 866-579-7172 CA",
    "Überweisung an Müller GmbH, München",
    "ÉLECTRICITÉ DE FRANCE prélèvement 2026-11-03",
    "Carrefour Market Paris 11e — carte bancaire",
    "Café de Flore, Saint-Germain-des-Prés",
    "Paid John Smith for dinner in Paris",
    "Monthly rent transfer to Anna Kowalska, Kraków",
    "The quick brown fox jumps over the lazy dog near the river bank on a sunny afternoon.",
    "Groceries at the farmers market: apples, bread, cheese and coffee beans.",
    "A train ticket from Zürich to Genève, second class, return.",
    "Electricity and water bills are paid on the first day of every month.",
    "She ordered a crème brûlée and a café au lait at the bistro.",
    "Refund from the airline for a cancelled flight to Tokyo 東京.",
    "Dinner with friends at a small restaurant in São Paulo.",
    "Payment received, thank you! Reference 2026/0412-A.",
]

# The texts the tests answer: several lengths (batches pad), digits, punctuation, non-ASCII, a
# double space, one letter, and one long text of ~130-220 tokens (positions far past the trace's,
# relative distances past DeBERTa's 128 where its log buckets start).
LONG_TEXT = " ".join(
    [
        "Statement of account for March:",
        "STARBUCKS STORE 10432 SEATTLE WA 4.75;",
        "Überweisung an Müller GmbH, München 850.00;",
        "Café de Flore, Saint-Germain-des-Prés 23.40;",
        "Monthly rent transfer to Anna Kowalska, Kraków 1200.00;",
        "Refund from the airline for a cancelled flight to Tokyo 東京 -420.00;",
        "Groceries at the farmers market: apples, bread and cheese 32.10.",
    ]
)
TEXTS = [
    "STARBUCKS STORE 10432 SEATTLE WA",
    "Überweisung an Müller GmbH, München — Miete März",
    "a",
    "CVS/PHARMACY  #04512 NEW YORK NY 10001",
    "Paid John Smith for dinner in Paris, café crème & croissants",
    LONG_TEXT,
]


@dataclass(frozen=True)
class TokenizerKind:
    """How one family's tokenizer is built: its model and the special tokens transformers names."""

    build: Callable[[], Tokenizer]
    special: dict[str, str]  # PreTrainedTokenizerFast's keyword -> token
    model_input_names: tuple[str, ...] = ("input_ids", "token_type_ids", "attention_mask")


def _token_id(tokenizer: Tokenizer, token: str) -> int:
    """A special token's id in a trained vocabulary (the trainer was given it: never missing)."""
    token_id = tokenizer.token_to_id(token)
    assert token_id is not None, token
    return token_id


def _template(tokenizer: Tokenizer, first: str, last: str) -> processors.TemplateProcessing:
    return processors.TemplateProcessing(
        single=f"{first} $A {last}",
        pair=f"{first} $A {last} $B:1 {last}:1",
        special_tokens=[(first, tokenizer.token_to_id(first)), (last, tokenizer.token_to_id(last))],
    )


def _wordpiece(specials: list[str], unk: str, first: str, last: str, *, lowercase: bool) -> Tokenizer:
    tokenizer = Tokenizer(models.WordPiece(unk_token=unk))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(CORPUS, trainers.WordPieceTrainer(vocab_size=400, special_tokens=specials))
    tokenizer.post_processor = _template(tokenizer, first, last)
    tokenizer.decoder = decoders.WordPiece()
    return tokenizer


def _byte_level_bpe() -> Tokenizer:
    """RoBERTa's: byte-level BPE, <s> x </s>, offsets trimmed of the spaces Ġ-tokens carry."""
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=600, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(CORPUS, trainer)
    tokenizer.post_processor = processors.RobertaProcessing(
        ("</s>", _token_id(tokenizer, "</s>")),
        ("<s>", _token_id(tokenizer, "<s>")),
        trim_offsets=True,
        add_prefix_space=False,
    )
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def _unigram(specials: list[str], unk: str, first: str, last: str, *, lowercase: bool) -> Tokenizer:
    """SentencePiece style: Unigram over Metaspace-split words (▁ marks a word's start)."""
    tokenizer = Tokenizer(models.Unigram())
    steps = [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    if lowercase:
        steps.append(normalizers.Lowercase())
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=350, special_tokens=specials, unk_token=unk, shrinking_factor=0.75)
    tokenizer.train_from_iterator(CORPUS, trainer)
    tokenizer.post_processor = _template(tokenizer, first, last)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    return tokenizer


BERT_SPECIALS = {
    "unk_token": "[UNK]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "mask_token": "[MASK]",
}
# RoBERTa's, which MPNet and XLM-RoBERTa share: <s> x </s>.
ROBERTA_SPECIALS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "cls_token": "<s>",
    "sep_token": "</s>",
    "mask_token": "<mask>",
}
TOKENIZER_KINDS: dict[str, TokenizerKind] = {
    "bert-wordpiece": TokenizerKind(
        lambda: _wordpiece(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], "[UNK]", "[CLS]", "[SEP]", lowercase=True),
        BERT_SPECIALS,
    ),
    "electra-wordpiece": TokenizerKind(  # cased, unlike BERT's
        lambda: _wordpiece(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], "[UNK]", "[CLS]", "[SEP]", lowercase=False),
        BERT_SPECIALS,
    ),
    "mpnet-wordpiece": TokenizerKind(  # MPNet's: WordPiece with RoBERTa's special tokens, <pad> = 1
        lambda: _wordpiece(["<s>", "<pad>", "</s>", "<unk>", "<mask>"], "<unk>", "<s>", "</s>", lowercase=True),
        ROBERTA_SPECIALS,
        ("input_ids", "attention_mask"),
    ),
    "byte-level-bpe": TokenizerKind(
        _byte_level_bpe,
        ROBERTA_SPECIALS,
        ("input_ids", "attention_mask"),
    ),
    "xlmr-unigram": TokenizerKind(  # XLM-RoBERTa's SentencePiece: <s> x </s>, <pad> = 1
        lambda: _unigram(["<s>", "<pad>", "</s>", "<unk>", "<mask>"], "<unk>", "<s>", "</s>", lowercase=False),
        ROBERTA_SPECIALS,
        ("input_ids", "attention_mask"),
    ),
    "deberta-unigram": TokenizerKind(  # DeBERTa-v2's SentencePiece: [CLS] x [SEP], [PAD] = 0
        lambda: _unigram(["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"], "[UNK]", "[CLS]", "[SEP]", lowercase=False),
        {
            "bos_token": "[CLS]",
            "eos_token": "[SEP]",
            "unk_token": "[UNK]",
            "pad_token": "[PAD]",
            "cls_token": "[CLS]",
            "sep_token": "[SEP]",
            "mask_token": "[MASK]",
        },
    ),
    "albert-unigram": TokenizerKind(  # ALBERT's SentencePiece: lowercased, <pad> = 0, [CLS] x [SEP]
        lambda: _unigram(["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"], "<unk>", "[CLS]", "[SEP]", lowercase=True),
        {**BERT_SPECIALS, "unk_token": "<unk>", "pad_token": "<pad>"},
    ),
}

TOKENIZER_OF = {
    "bert": "bert-wordpiece",
    "distilbert": "bert-wordpiece",
    "electra": "electra-wordpiece",
    "mpnet": "mpnet-wordpiece",
    "roberta": "byte-level-bpe",
    "xlm-roberta": "xlmr-unigram",
    "deberta-v2": "deberta-unigram",
    "albert": "albert-unigram",
}


def build_tokenizer(kind: str) -> transformers.PreTrainedTokenizerFast:
    """One tokenizer kind, trained on CORPUS and wrapped the way save_pretrained expects."""
    spec = TOKENIZER_KINDS[kind]
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=spec.build(), model_input_names=list(spec.model_input_names), **spec.special
    )


# dict[str, Any]: splatted into configs whose other keywords are not ints.
SIZES: dict[str, Any] = dict(
    num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=256
)
# Weights of about 1/sqrt(hidden size), not the pretraining init's 0.02: with those, a random
# model's sentence representations barely differ between texts, and a head that told them apart
# would amplify float rounding past the parity limit.
INITIALIZER_RANGE = 0.2


def build_config(architecture: str, tokenizer: transformers.PreTrainedTokenizerFast, **extra: Any) -> Any:
    """The architecture's config at tiny sizes, its vocabulary and special ids the tokenizer's."""
    ids: dict[str, Any] = dict(
        vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, initializer_range=INITIALIZER_RANGE, **extra
    )
    if tokenizer.bos_token_id is not None:
        ids.update(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    if architecture == "bert":
        return transformers.BertConfig(hidden_size=32, **SIZES, **ids)
    if architecture == "distilbert":
        return transformers.DistilBertConfig(
            dim=32, n_layers=2, n_heads=2, hidden_dim=64, max_position_embeddings=256, **ids
        )
    if architecture == "roberta":
        return transformers.RobertaConfig(hidden_size=32, type_vocab_size=1, **SIZES, **ids)
    if architecture == "xlm-roberta":
        return transformers.XLMRobertaConfig(hidden_size=32, type_vocab_size=1, **SIZES, **ids)
    if architecture == "deberta-v2":
        # transformers' configs take keywords beyond their fields (strict(accept_kwargs=True)), as
        # DeBERTa-v2's position_buckets, norm_rel_ebd and share_att_key; their signatures show only fields.
        return transformers.DebertaV2Config(  # type: ignore[call-arg]  # extra keywords: see above
            hidden_size=32,
            **{**SIZES, "num_attention_heads": 4},
            type_vocab_size=0,
            relative_attention=True,
            max_relative_positions=-1,
            position_buckets=256,
            pos_att_type=["p2c", "c2p"],
            norm_rel_ebd="layer_norm",
            share_att_key=True,
            position_biased_input=False,
            **ids,
        )
    if architecture == "electra":
        return transformers.ElectraConfig(hidden_size=32, embedding_size=16, **SIZES, **ids)
    if architecture == "albert":
        return transformers.AlbertConfig(hidden_size=32, embedding_size=16, **SIZES, **ids)
    if architecture == "mpnet":
        return transformers.MPNetConfig(hidden_size=32, relative_attention_num_buckets=32, **SIZES, **ids)
    raise ValueError(f"unknown architecture {architecture!r}")


def _head(model: torch.nn.Module, outputs: int) -> torch.nn.Linear:
    """The task head's last Linear layer (classifier, classifier.out_proj, ...)."""
    return [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == outputs][-1]


def _head_inputs(model: Any, tokenizer: Any, head: torch.nn.Linear) -> torch.Tensor:
    """What the head's last layer sees for TEXTS but the long one (one row per token or per text)."""
    seen: list[torch.Tensor] = []
    hook = head.register_forward_hook(lambda module, args, output: seen.append(args[0].reshape(-1, args[0].shape[-1])))
    try:
        with torch.no_grad():
            for text in TEXTS[:-1]:
                model(**tokenizer(text, return_tensors="pt"))
    finally:
        hook.remove()
    return torch.cat(seen)


def sharpen_head(
    model: Any,
    tokenizer: Any,
    outputs: int,
    spread: float,
    bias: list[float] | None = None,
    confident: float = 0.0,
) -> None:
    """Scales the random head so its logits spread `spread` (standard deviation) over TEXTS: the
    probabilities are then far from uniform. `bias` shifts labels (token classification: makes
    entity labels, and runs of I- tags, common enough to compare). `confident`: the share of the
    rows whose softmax must top 0.95; the spread grows until it does (the tokenizers' training is
    not deterministic, so neither are the features: a fixed scale would sometimes fall short)."""
    head = _head(model, outputs)
    generator = torch.Generator().manual_seed(1)
    features = _head_inputs(model, tokenizer, head)
    centred = features - features.mean(dim=0)
    offset = torch.tensor(bias or [0.0] * outputs)
    with torch.no_grad():
        weight = torch.randn(head.weight.shape, generator=generator)
        weight *= spread / (centred @ weight.T).std()
        for _ in range(8):
            if ((centred @ weight.T + offset).softmax(dim=-1).max(dim=-1).values > 0.95).float().mean() >= confident:
                break
            weight *= 1.25
        head.weight.copy_(weight)
        head.bias.copy_(-features.mean(dim=0) @ weight.T + offset)


def build_model_folder(
    architecture: str,
    task: str,
    tokenizer: transformers.PreTrainedTokenizerFast,
    folder: Path,
    *,
    multi_label: bool = False,
    seed: int = 0,
) -> Path:
    """save_pretrained of a tiny random `architecture` model for `task` (and its tokenizer) in `folder`."""
    torch.manual_seed(seed)
    if task == "text-classification":
        config = build_config(
            architecture,
            tokenizer,
            id2label=dict(enumerate(CLASS_LABELS)),
            label2id={label: i for i, label in enumerate(CLASS_LABELS)},
            problem_type="multi_label_classification" if multi_label else "single_label_classification",
        )
        model = transformers.AutoModelForSequenceClassification.from_config(config).eval()
        # Multi-label: logits around 0 with a wide spread, so some labels are in and some out.
        if multi_label:
            sharpen_head(model, tokenizer, len(CLASS_LABELS), spread=8.0)
        else:
            sharpen_head(model, tokenizer, len(CLASS_LABELS), spread=10.0, confident=0.8)
    elif task == "token-classification":
        config = build_config(
            architecture,
            tokenizer,
            id2label=dict(enumerate(NER_LABELS)),
            label2id={label: i for i, label in enumerate(NER_LABELS)},
        )
        model = transformers.AutoModelForTokenClassification.from_config(config).eval()
        # Entities of several tokens: the I- tags ahead of the B- tags, O ahead of both.
        sharpen_head(model, tokenizer, len(NER_LABELS), spread=5.0, bias=[4.0, 0.0, 2.5, 0.0, 2.5])
    elif task == "feature-extraction":
        model = transformers.AutoModel.from_config(build_config(architecture, tokenizer)).eval()
    else:
        raise ValueError(f"unknown task {task!r}")
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    if task == "feature-extraction" and architecture == SENTENCE_TRANSFORMERS_ARCHITECTURE:
        write_sentence_transformers_files(folder, dims=model.config.hidden_size)
    return folder


def write_sentence_transformers_files(folder: Path, dims: int) -> None:
    """modules.json (Transformer, Pooling, Normalize), 1_Pooling/config.json (mean) and
    sentence_bert_config.json, as sentence-transformers saves them."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules, indent=2))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    pooling = {
        "word_embedding_dimension": dims,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    }
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling, indent=2))
    (folder / "2_Normalize").mkdir(exist_ok=True)
    bert_config = {"max_seq_length": SENTENCE_TRANSFORMERS_MAX_SEQ_LENGTH, "do_lower_case": False}
    (folder / "sentence_bert_config.json").write_text(json.dumps(bert_config, indent=2))
