"""(statement line, merchant name) pairs for the merchant-normalizer demo (model_artifacts/merchant-normalizer/).

Drawn from the classifier's catalogue (training/catalog/) with the data generator's own pieces
(training/generate_data.py): every named merchant of kind store, online or debit, and local
merchants generated from the catalogue's patterns of those kinds, each spelling wrapped in the
statement formats banks print for it. The name to write is the spelling itself (lowercase, spaces
collapsed): the formats' words, store numbers, cities, dates, references and the banks' noise
words are what the model learns to leave out.

Split by merchant: every spelling of a merchant is on one side, and a test name is never a
training name, so the test measures merchants never trained on. Left out: lines where a card
network cut the name (no model can write what the line does not hold), and people, raw lines and
notes, which name no merchant. Deterministic: the same catalogue always gives the same pairs.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from training.common import LABELS, SEED
from training.generate_data import FORMATS, NOISE_PREFIXES, NOISE_SUFFIXES, Generator, Line, Merchant, read_catalogue

KINDS = ("store", "online", "debit")
TEST_SHARE = 0.15
LINES_PER_SPELLING = {"train": 3, "test": 1}
# Generated local merchants per label (each its own merchant), beside the named ones.
COMPOSED_PER_LABEL = 300
# Card networks' fixed-width merchant field (generate_data.Line's {FIXED}).
FIXED_FIELD_CHARS = 22
# The documented example's merchant is held out: the docs show a merchant the model never saw.
HELD_OUT = {"blue bottle coffee"}


@dataclass(frozen=True)
class Pair:
    line: str
    name: str  # lowercase: the network writes lowercase (predictor.name_case capitalises)
    merchant: str  # the merchant group it belongs to


class WholeNameLine(Line):
    """A line whose {M} is never cut short (generate_data cuts a quarter of the long ones)."""

    def _truncated(self, merchant: str) -> str:
        return merchant


def name_of(spelling: str) -> str:
    return " ".join(spelling.split()).lower()


def split_of(merchant: Merchant) -> str:
    """By a hash of the merchant group: stable whatever else the catalogue gains."""
    if any(name_of(spelling) in HELD_OUT for spelling in merchant.spellings):
        return "test"
    digest = hashlib.sha256(merchant.group.encode("utf-8")).digest()
    return "test" if int.from_bytes(digest[:4], "big") < TEST_SHARE * 2**32 else "train"


def usable(template: str, spelling: str) -> bool:
    """Templates that print the whole name: not {MC} (a squeezed code), and {FIXED} only for names that fit."""
    return "{MC}" not in template and ("{FIXED}" not in template or len(spelling) <= FIXED_FIELD_CHARS)


def render(generator: Generator, merchant: Merchant, spelling: str) -> str:
    """One statement line for `spelling`, in a format of its kind and of the bank's country."""
    rng = generator.rng
    line = WholeNameLine(rng, generator.pick_region(merchant))
    generic, regional = FORMATS[merchant.kind]
    own = regional.get(line.region.lang, ())
    templates = own if own and rng.random() < 0.55 else generic
    text = line.fill(rng.choice([t for t in templates if usable(t, spelling)]), spelling)
    if rng.random() < 0.08:
        text = rng.choice(NOISE_PREFIXES) + " " + text
    if rng.random() < 0.08:
        text += " " + line.fill(rng.choice(NOISE_SUFFIXES))
    return cased(rng, " ".join(text.split()))


def cased(rng: random.Random, text: str) -> str:
    """Mostly upper case, as banks print; sometimes as written, sometimes title case (apps)."""
    roll = rng.random()
    return text.upper() if roll < 0.6 else text if roll < 0.9 else text.title()


def merchants(generator: Generator) -> list[Merchant]:
    found: list[Merchant] = []
    for label in LABELS:
        catalogue = read_catalogue(label)
        found += [m for m in catalogue.named if m.kind in KINDS]
        patterns = [pattern for pattern in catalogue.patterns if pattern[0] in KINDS]
        if patterns:
            taken = {m.group for m in catalogue.named}
            found += [m for m, _ in generator.composed(label, patterns, COMPOSED_PER_LABEL, taken)]
    return found


def pairs(seed: int = SEED) -> dict[str, list[Pair]]:
    """The train and test pairs, in a seeded random order."""
    generator = Generator(seed)
    splits: dict[str, list[Pair]] = {"train": [], "test": []}
    for merchant in merchants(generator):
        split = split_of(merchant)
        for spelling in merchant.spellings:
            if "{" in spelling:  # a spelling with per-line slots names no one merchant
                continue
            for _ in range(LINES_PER_SPELLING[split]):
                splits[split].append(Pair(render(generator, merchant, spelling), name_of(spelling), merchant.group))
    trained = {pair.name for pair in splits["train"]}
    splits["test"] = [pair for pair in splits["test"] if pair.name not in trained]
    for rows in splits.values():
        generator.rng.shuffle(rows)
    return splits
