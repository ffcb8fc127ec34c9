"""merchant-normalizer: a raw card-statement line in, the merchant's name out.

    "SQ *BLUE BOTTLE COFFEE OAKLAND CA" -> "Blue Bottle Coffee"

The package's predictor.py, the runtime's extension point for a model of your own (docs/models.md):
Request, Response and EXAMPLE are the contract, load() returns the network, and the network's
predict() answers one validated request. training/merchant_normalizer.py trains it (`make model`).

The network is a sequence-to-sequence model in plain torch: a bidirectional GRU reads the line
(lowercased) character by character, and a GRU decoder writes the name one character at a time,
attending over the line with a copy gate that can write the attended character itself, so a name
it never saw is copied rather than spelled from memory. Decoding is greedy and stops at the end
symbol or MAX_OUTPUT_CHARS. The network writes lowercase; name_case capitalises the words.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Self

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

MAX_SENTENCES = 64
# Statement lines are short (the training lines are under 160 characters); the encoder's cost grows
# with the line, so the contract is tighter than the deployment's MAX_TEXT_CHARS.
MAX_SENTENCE_CHARS = 200
# Merchant names are under 40 characters: a name that has not ended by then never will.
MAX_OUTPUT_CHARS = 48
WEIGHTS = "model.pt"
# Ids before the alphabet's characters.
PAD, START, END, UNKNOWN = 0, 1, 2, 3
SPECIALS = 4

Sentence = Annotated[
    str,
    Field(min_length=1, max_length=MAX_SENTENCE_CHARS, pattern=r"\S", description="a statement line, as the bank prints it"),
]


class Request(BaseModel):
    """One line or a batch: exactly one of `sentence` and `sentences`."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["sentence"]}, {"required": ["sentences"]}]})

    sentence: Sentence | None = None
    sentences: list[Sentence] | None = Field(
        None, min_length=1, max_length=MAX_SENTENCES, description=f"1 to {MAX_SENTENCES} lines, answered in order"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.sentence is None) == (self.sentences is None):
            raise ValueError('give exactly one of "sentence" or "sentences"')
        return self

    @property
    def batch(self) -> list[str]:
        """The lines: the runtime's log line and metrics count them (never log them)."""
        return self.sentences if self.sentences is not None else [self.sentence or ""]


class Response(BaseModel):
    """`output` answers `sentence`, `outputs` answers `sentences` (the runtime adds "model")."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"oneOf": [{"required": ["output"]}, {"required": ["outputs"]}]}
    )

    output: str | None = Field(None, description="the merchant's name")
    outputs: list[str] | None = Field(None, description="one name per sentence, in input order")


EXAMPLE = {"sentence": "SQ *BLUE BOTTLE COFFEE OAKLAND CA"}


def name_case(name: str) -> str:
    """Each word capitalised, as str.title does, but not after an apostrophe ("Sainsbury's")."""
    return re.sub(r"(^|[^\w'])(\w)", lambda match: match[1] + match[2].upper(), name.lower())


class MerchantNormalizer(nn.Module):
    """Character-level encoder-decoder: Luong attention over a bidirectional GRU, and a copy gate
    mixing the decoder's distribution over characters with the attention over the line's own."""

    def __init__(self, alphabet: str, embedding: int = 48, hidden: int = 128) -> None:
        super().__init__()
        self.alphabet = alphabet
        self.sizes = {"embedding": embedding, "hidden": hidden}
        self.ids = {char: SPECIALS + index for index, char in enumerate(alphabet)}
        symbols = SPECIALS + len(alphabet)
        self.embed = nn.Embedding(symbols, embedding, padding_idx=PAD)
        self.encoder = nn.GRU(embedding, hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * hidden, 2 * hidden)
        self.decoder = nn.GRU(embedding, 2 * hidden, batch_first=True)
        self.attention = nn.Linear(2 * hidden, 2 * hidden, bias=False)
        self.generate = nn.Linear(4 * hidden, symbols)
        self.copy_gate = nn.Linear(4 * hidden, 1)

    def source_ids(self, lines: list[str]) -> torch.Tensor:
        """The lines lowercased as ids between START and END, padded: (lines, longest + 2). The
        decoder ends a name that ends the line by attending to (and copying) the line's END."""
        rows = [[START, *(self.ids.get(char, UNKNOWN) for char in line.lower()), END] for line in lines]
        ids = torch.full((len(rows), max(map(len, rows))), PAD, dtype=torch.long)
        for row, values in enumerate(rows):
            ids[row, : len(values)] = torch.tensor(values)
        return ids

    def encode(self, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder states (lines, positions, 2 * hidden) and the decoder's first hidden state."""
        lengths = (source != PAD).sum(dim=1)
        # Packed, so the backward direction starts at each line's own last character, not at padding.
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(source), lengths, batch_first=True, enforce_sorted=False)
        states, final = self.encoder(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=source.shape[1])
        start = torch.tanh(self.bridge(torch.cat([final[0], final[1]], dim=1))).unsqueeze(0)
        return states, start

    def decode(
        self, source: torch.Tensor, states: torch.Tensor, previous: torch.Tensor, hidden: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities of the next symbol after each of `previous` (lines, steps), and the
        decoder's hidden state after the last step."""
        outputs, hidden = self.decoder(self.embed(previous), hidden)
        scores = self.attention(outputs) @ states.transpose(1, 2)
        scores = scores.masked_fill((source == PAD).unsqueeze(1), float("-inf"))
        attention = scores.softmax(dim=-1)
        features = torch.cat([outputs, attention @ states], dim=-1)
        gate = torch.sigmoid(self.copy_gate(features))
        generated = self.generate(features).softmax(dim=-1)
        copied = torch.zeros_like(generated).scatter_add_(
            2, source.unsqueeze(1).expand(-1, previous.shape[1], -1), attention
        )
        return torch.log((gate * generated + (1 - gate) * copied).clamp_min(1e-9)), hidden

    def forward(self, source: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        """Training: log-probabilities for every step of the (teacher-forced) names at once."""
        states, start = self.encode(source)
        return self.decode(source, states, previous, start)[0]

    def target_ids(self, names: list[str]) -> torch.Tensor:
        """START + name + END for each name, padded: what training feeds and expects."""
        rows = [[START, *(self.ids.get(char, UNKNOWN) for char in name), END] for name in names]
        ids = torch.full((len(rows), max(map(len, rows))), PAD, dtype=torch.long)
        for row, values in enumerate(rows):
            ids[row, : len(values)] = torch.tensor(values)
        return ids

    @torch.inference_mode()
    def normalize(self, lines: list[str]) -> list[str]:
        """Each line's merchant name: greedy decoding, every line of the batch at once."""
        source = self.source_ids(lines)
        states, hidden = self.encode(source)
        previous = torch.full((len(lines), 1), START, dtype=torch.long)
        written: list[list[int]] = [[] for _ in lines]
        done = torch.zeros(len(lines), dtype=torch.bool)
        for _ in range(MAX_OUTPUT_CHARS):
            log_probabilities, hidden = self.decode(source, states, previous, hidden)
            previous = log_probabilities[:, -1].argmax(dim=-1, keepdim=True)
            done |= previous[:, 0] == END
            if done.all():
                break
            for row, symbol in enumerate(previous[:, 0].tolist()):
                if not done[row]:
                    written[row].append(symbol)
        return [name_case("".join(self._char(symbol) for symbol in row).strip()) for row in written]

    def _char(self, symbol: int) -> str:
        return self.alphabet[symbol - SPECIALS] if symbol >= SPECIALS else ""

    def predict(self, request: Request) -> dict[str, str | list[str]]:
        names = self.normalize(request.batch)
        return {"outputs": names} if request.sentences is not None else {"output": names[0]}


def load(model_dir: Path) -> MerchantNormalizer:
    """The trained network from model.pt (tensors and plain values only: weights_only loading)."""
    checkpoint = torch.load(model_dir / WEIGHTS, map_location="cpu", weights_only=True)
    network = MerchantNormalizer(checkpoint["alphabet"], **checkpoint["sizes"])
    network.load_state_dict(checkpoint["state_dict"])
    return network.eval()
