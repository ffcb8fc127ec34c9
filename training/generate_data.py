"""Writes the labeled transaction data set: training/data/{train,validation,test}.csv.

    python -m training.generate_data

Deterministic (fixed seed): the same catalogue always gives the same files. Every line is a
merchant's name (training/catalog/<label>.tsv) in one of the statement formats
(training/catalog/formats.tsv) banks in that merchant's country (training/catalog/regions.tsv)
print: card purchases with store numbers and cities, card-network fixed-width fields, online and
wallet payments, direct debits (DD, ACH, SEPA, NACH, BPAY, Autogiro ...), incoming credits, P2P
and ATM lines, and casual notes typed into budgeting apps. training/catalog/README.md describes
the files. The split is by merchant group, about 70/15/15 per label, so no merchant (or
near-duplicate of one) is in two splits.

generate_lines() gives each line with what the generator knows about it: its merchant's name and
the character spans of its parts (MERCHANT, LOCATION, STORE_ID, DATE, AMOUNT, REFERENCE), from
which `python -m training.generate_data` also writes training/data/entities/<split>.jsonl, the
data of the transaction-entities package (training/train_entities.py).
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from training.common import DATA_DIR, FIELDS, LABELS, REPO_ROOT, SEED, SPLITS

CATALOG_DIR = REPO_ROOT / "training" / "catalog"
ENTITIES_DIR = DATA_DIR / "entities"
LINES_PER_LABEL = 680
MIN_GENERATED_LINES = 640
# Share of (non-key) named merchants that also get one line in a statement format.
FORMATTED_SHARE = 0.06
# Generated merchants (and notes) go round this cycle, pattern by pattern: every pattern is
# trained on, and its other merchants are held out. Named merchants are all in train.
SPLIT_CYCLE = ("train", "validation", "test", "train")
# Kinds of named merchants, each wrapped in the statement formats of its kind; raw lines are whole.
MERCHANT_KINDS = ("store", "online", "debit", "credit", "payee", "raw")
FORMAT_KINDS = ("store", "online", "debit", "credit", "payee")


def read_tsv(name: str, directory: Path = CATALOG_DIR) -> list[dict[str, str]]:
    """Rows of a catalogue file (tab-separated, a header line, no quoting)."""
    with open(directory / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def _split_list(text: str, separator: str = ",") -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(separator) if item.strip())


@dataclass(frozen=True)
class Region:
    lang: str  # which family of statement formats its banks print
    names: str  # which family of words and people's names its local merchants use
    cc: str
    currency: str
    cities: tuple[tuple[str, str], ...]  # (city, state/province code or "")
    banks: tuple[str, ...]
    weight: float  # how often a global (ANY) brand is seen from here


def _cities(spec: str) -> tuple[tuple[str, str], ...]:
    """'NEW YORK NY, AUSTIN TX' -> (('NEW YORK', 'NY'), ...) where the last word is an upper-case
    code of 2-3 letters; otherwise the whole item is the city."""
    result = []
    for item in _split_list(spec):
        words = item.split()
        if len(words) > 1 and re.fullmatch(r"[A-Z]{2,3}", words[-1]):
            result.append((" ".join(words[:-1]), words[-1]))
        else:
            result.append((" ".join(words), ""))
    return tuple(result)


REGIONS = {
    row["code"]: Region(
        row["formats"],
        row["names"],
        row["country"],
        row["currency"],
        _cities(row["cities"]),
        _split_list(row["banks"]),
        float(row["weight"]),
    )
    for row in read_tsv("regions.tsv")
}
# " GB" or " GBR" written into a format after a {slot}: the regions' codes and the 3-letter ones
# some banks print.
COUNTRY_CODES = sorted({region.cc for region in REGIONS.values()} | {"GBR", "NLD", "POL", "BRA", "AUS", "USA"})
COUNTRY_CODE_AFTER = re.compile(rf" (?:{'|'.join(COUNTRY_CODES)})(?=\s|$)")


def _read_formats() -> dict[str, dict[str, tuple[str, ...]]]:
    """{kind: {formats family or ANY: templates}} from formats.tsv, in file order."""
    table: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in read_tsv("formats.tsv"):
        table[row["kind"]][row["formats"]].append(row["template"])
    return {
        kind: {family: tuple(templates) for family, templates in by_family.items()} for kind, by_family in table.items()
    }


# Statement formats, by the kind of merchant and the bank's country. {M} is the merchant name;
# the other {slots} are filled per line (see Line.fill).
_FORMAT_TABLE = _read_formats()
FORMATS = {
    kind: (_FORMAT_TABLE[kind]["ANY"], {family: t for family, t in _FORMAT_TABLE[kind].items() if family != "ANY"})
    for kind in FORMAT_KINDS
}
# Legal forms appear after merchant names of every kind (not only employers paying salaries).
LEGAL_FORMS = _FORMAT_TABLE["legal-form"]
# Words banks put around descriptions in many languages: seen with every label, they carry no label.
NOISE_PREFIXES = _FORMAT_TABLE["noise-prefix"]["ANY"]
NOISE_SUFFIXES = _FORMAT_TABLE["noise-suffix"]["ANY"]

NOTE_SUFFIXES = ("", "", "", " {amt_plain}", " - {day}", " {dm}")

# The parts of a line the entities data names, by the {slot} that writes them ({M}, {MC} and {FIXED}
# are the merchant's: see Line._spans). Card numbers, people, phones, URLs and bank names are left
# unnamed: they are not what a merchant extractor is asked for, and people's names are personal data.
ENTITY_LABELS = ("MERCHANT", "LOCATION", "STORE_ID", "DATE", "AMOUNT", "REFERENCE")
SLOT_ENTITIES = {
    "CITY": "LOCATION", "city": "LOCATION", "st": "LOCATION", "cc": "LOCATION", "street": "LOCATION",
    "store": "STORE_ID",
    "date": "DATE", "dm": "DATE", "dmy": "DATE", "ymd": "DATE", "MON": "DATE", "month": "DATE", "day": "DATE",
    "mon_de": "DATE", "mois": "DATE", "mes": "DATE", "mese": "DATE", "maand": "DATE",
    "amt": "AMOUNT", "amt_plain": "AMOUNT",
    "ref": "REFERENCE", "ref12": "REFERENCE", "id10": "REFERENCE", "REF": "REFERENCE",
}  # fmt: skip


@dataclass(frozen=True, order=True)
class Span:
    """A labeled part of a line: line[start:end]."""

    start: int
    end: int
    label: str

    def shifted(self, offset: int) -> Span:
        return Span(self.start + offset, self.end + offset, self.label)


@dataclass(frozen=True)
class GeneratedLine:
    """One line of the data set and what the generator knows about it. `merchant` is its merchant's
    name (Merchant.name: as the catalogue first spells it, or a generated merchant's own name without
    the words around it, "ACME" of "ACME LTD SALARY"), None for app notes and lines the catalogue
    writes whole (transfers, rent, interest ...); `spans` are its parts."""

    text: str
    label: str
    group: str
    merchant: str | None
    spans: tuple[Span, ...]

    @property
    def row(self) -> dict[str, str]:
        """The line as training/data/<split>.csv has it."""
        return {"text": self.text, "label": self.label, "group": self.group}


def _read_names() -> dict[str, dict[str, tuple[str, ...]]]:
    """{slot: {family: values}} from names.tsv; "-" is the empty value (a company with no noun)."""
    table: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in read_tsv("names.tsv"):
        table[row["slot"]][row["family"]].append("" if row["value"] == "-" else row["value"])
    return {slot: {family: tuple(values) for family, values in by_family.items()} for slot, by_family in table.items()}


# Fillers for <SLOT>s (once per composed merchant) and {slot}s (per line).
_NAMES = _read_names()
WORDS, SURNAMES, FIRST_NAMES = _NAMES["WORD"], _NAMES["SURNAME"], _NAMES["FIRST"]
COMPANY_STEMS, COMPANY_NOUNS = _NAMES["COMPANY_STEM"]["ANY"], _NAMES["COMPANY_NOUN"]["ANY"]
TICKERS, BROKERS, STREETS = _NAMES["TICKER"]["ANY"], _NAMES["BROKER"]["ANY"], _NAMES["STREET"]["ANY"]
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
MONTHS_LOCAL = {
    "mon_de": (
        "januar",
        "februar",
        "maerz",
        "april",
        "mai",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "dezember",
    ),
    "mois": (
        "janvier",
        "fevrier",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "aout",
        "septembre",
        "octobre",
        "novembre",
        "decembre",
    ),
    "mes": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
    "mese": (
        "gennaio",
        "febbraio",
        "marzo",
        "aprile",
        "maggio",
        "giugno",
        "luglio",
        "agosto",
        "settembre",
        "ottobre",
        "novembre",
        "dicembre",
    ),
    "maand": (
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ),
}
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "sat", "fri", "weekend")
PSPS = ("okaxis", "ybl", "paytm", "icici", "hdfcbank", "oksbi", "axl", "ibl")
SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€", "INR": "Rs.", "AUD": "A$", "CAD": "C$"}


@dataclass(frozen=True)
class Merchant:
    """One merchant group: its spellings, how it is paid, where it is seen, and its label."""

    label: str
    kind: str  # store | online | debit | credit | payee | raw | note
    regions: tuple[str, ...]
    spellings: tuple[str, ...]
    named: bool  # from the catalogue (always trained on) rather than generated
    key_brand: bool = False
    # The part of a composed merchant's name that names it ("ACME" of "ACME LTD SALARY"), marked
    # [like this] in the catalogue's pattern; "" when the whole name does.
    core: str = ""

    @property
    def group(self) -> str:
        return f"{self.label}:{self.spellings[0].lower()}"

    @property
    def brand(self) -> str:
        """The words every spelling starts with ("STARBUCKS" of "STARBUCKS; STARBUCKS STORE"), or
        "" when they share none: the MERCHANT part of a spelling that starts with it, so that
        "STORE", "EXPRESS" or "PLC" after a brand is not taught as the merchant's name."""
        words = [spelling.upper().split() for spelling in self.spellings]
        common = []
        for column in zip(*words, strict=False):  # as far as the shortest spelling
            if len(set(column)) > 1:
                break
            common.append(column[0])
        return " ".join(common) if len(self.spellings) > 1 else ""

    @property
    def name(self) -> str:
        """The merchant's name: a composed merchant's core, else the catalogue's first spelling."""
        return self.core or self.spellings[0]

    def merchant_part(self, spelling: str) -> tuple[int, int]:
        """(offset, length) of the part of `spelling` that names the merchant: a composed
        merchant's core, a named one's brand, else the whole spelling."""
        if self.core and self.core in spelling:
            return spelling.index(self.core), len(self.core)
        brand = self.brand
        if brand and spelling[: len(brand)].upper() == brand:
            return 0, len(brand)
        return 0, len(spelling)


@dataclass(frozen=True)
class Catalogue:
    """One label's training/catalog/<label>.tsv: named merchants, composed patterns and notes."""

    named: list[Merchant]
    patterns: list[tuple[str, tuple[str, ...], str]]  # (kind, regions, <SLOT> pattern)
    notes: list[str]


def read_catalogue(label: str, directory: Path = CATALOG_DIR) -> Catalogue:
    named, patterns, notes = [], [], []
    for number, row in enumerate(read_tsv(f"{label}.tsv", directory), start=2):
        kind, regions, names = row["kind"], row["regions"], row["names"]
        if kind in MERCHANT_KINDS:
            key_brand = regions.startswith("!")
            named.append(
                Merchant(label, kind, tuple(regions.lstrip("!").split()), _split_list(names, ";"), True, key_brand)
            )
        elif kind.startswith("composed-") and kind.removeprefix("composed-") in MERCHANT_KINDS:
            patterns.append((kind.removeprefix("composed-"), tuple(regions.split()), names))
        elif kind == "note":
            notes.append(names)
        else:
            raise ValueError(f"{label}.tsv line {number}: unknown kind {kind!r}")
    return Catalogue(named, patterns, notes)


class Line:
    """Fills one line's {slots} for a merchant seen in one region."""

    def __init__(self, rng: random.Random, region_code: str) -> None:
        self.rng = rng
        self.region = REGIONS[region_code]
        self.family = self.region.names
        self.city, self.state = rng.choice(self.region.cities)

    def fill(self, template: str, merchant: str = "") -> str:
        return self.fill_spans(template, merchant)[0]

    def fill_spans(
        self, template: str, merchant: str = "", merchant_part: tuple[int, int] | None = None
    ) -> tuple[str, list[Span]]:
        """fill(), and the spans of the parts it wrote; `merchant_part` (offset, length; default:
        all) is what of `merchant` names the merchant. The slots are filled in the order fill() has
        always filled them, so the random stream, and the data, are the same."""
        merchant_part = (0, len(merchant)) if merchant_part is None else merchant_part
        text, spans, done = "", [], 0
        for match in re.finditer(r"\{(\w+)\}", template):
            text += template[done : match.start()]
            value = self._slot(match.group(1), merchant)
            spans += [span.shifted(len(text)) for span in self._spans(match.group(1), value, merchant, merchant_part)]
            text += value
            done = match.end()
            # A country code the format itself prints after a city ("{CITY} GB") is the location's too.
            code = COUNTRY_CODE_AFTER.match(template, done)
            if code and spans and spans[-1].label == "LOCATION" and spans[-1].end == len(text):
                spans[-1] = Span(spans[-1].start, spans[-1].end + len(code.group()), "LOCATION")
        return text + template[done:], spans

    def _spans(self, name: str, value: str, merchant: str, merchant_part: tuple[int, int]) -> list[Span]:
        """The labeled parts of one filled slot, offsets within `value`."""
        offset, length = merchant_part
        if name == "M":  # the merchant as printed: maybe cut short, maybe with a legal form after it
            return _span(offset, value[offset : offset + length].rstrip(), "MERCHANT")
        if name == "MC":  # letters and digits only, cut short
            start = len(_alphanumeric(merchant[:offset]))
            kept = len(_alphanumeric(merchant[offset : offset + length]))
            return _span(start, value[start : start + kept], "MERCHANT")
        if name == "FIXED":  # merchant, city and country code in fixed-width columns
            return [
                *_span(offset, merchant[:22][offset : offset + length].rstrip(), "MERCHANT"),
                *_span(23, self.city[:13].rstrip(), "LOCATION"),
                *_span(37, value[37:], "LOCATION"),
            ]
        if name in SLOT_ENTITIES:
            return _span(0, value.strip(), SLOT_ENTITIES[name])
        return []

    def _slot(self, name: str, merchant: str) -> str:
        rng, region = self.rng, self.region
        day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.choice((2023, 2024, 2025))
        first = rng.choice(FIRST_NAMES[self.family])
        last = rng.choice(SURNAMES[self.family])
        simple = {
            "M": lambda: self._truncated(merchant),
            "MC": lambda: _alphanumeric(merchant)[: rng.randint(8, 14)],
            "CITY": lambda: self.city,
            "city": lambda: rng.choice(REGIONS[rng.choice(list(REGIONS))].cities)[0].lower(),
            "st": lambda: self.state or region.cc,
            "cc": lambda: region.cc,
            "store": lambda: str(rng.randint(1, 99999)).zfill(rng.choice((3, 4, 5))),
            "card4": lambda: str(rng.randint(0, 9999)).zfill(4),
            "card": lambda: f"{rng.randint(4000, 5599)}XXXXXXXX{rng.randint(0, 9999):04d}",
            "n": lambda: str(rng.randint(1, 999)),
            "ref": lambda: str(rng.randint(10**5, 10**10)),
            "ref12": lambda: str(rng.randint(10**11, 10**12 - 1)),
            "id10": lambda: str(rng.randint(10**9, 10**10 - 1)),
            "REF": lambda: "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(rng.randint(6, 12))),
            "bg": lambda: f"{rng.randint(100, 9999)}-{rng.randint(1000, 9999)}",
            "ifsc": lambda: f"{rng.choice(('HDFC', 'ICIC', 'SBIN', 'UTIB', 'KKBK'))}0{rng.randint(0, 99999):06d}",
            "vpa": lambda: f"{first.lower()}{rng.randint(1, 99)}@{rng.choice(PSPS)}",
            "time": lambda: f"{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}",
            "dm": lambda: f"{day:02d}/{month:02d}" if region.cc != "US" else f"{month:02d}/{day:02d}",
            "dmy": lambda: (
                f"{day:02d}{MONTHS[month - 1][:3].upper()}{year % 100:02d}"
                if rng.random() < 0.5
                else f"{day:02d}.{month:02d}.{year}"
            ),
            "ymd": lambda: f"{year}-{month:02d}-{day:02d}",
            "date": lambda: rng.choice(
                (
                    f"{day:02d}/{month:02d}",
                    f"{day:02d} {MONTHS[month - 1][:3].upper()}",
                    f"{year}-{month:02d}-{day:02d}",
                    f"{day:02d}.{month:02d}.{year}",
                    f"{MONTHS[month - 1][:3].upper()}{day:02d}",
                )
            ),
            "MON": lambda: rng.choice((MONTHS[month - 1][:3].upper(), MONTHS[month - 1].upper())),
            "month": lambda: rng.choice((MONTHS[month - 1], MONTHS[month - 1][:3])),
            "day": lambda: rng.choice(DAYS),
            "amt": lambda: self._amount(),
            "amt_plain": lambda: f"{rng.uniform(2, 150):.2f}",
            "NAME": lambda: f"{first} {last}" if rng.random() < 0.7 else f"{first[0]} {last}",
            "Name": lambda: f"{first} {last}".title(),
            "first": lambda: first.lower().title() if rng.random() < 0.3 else first.lower(),
            "BANK": lambda: rng.choice(region.banks),
            "TICKER": lambda: rng.choice(TICKERS),
            "BROKER": lambda: rng.choice(BROKERS),
            "street": lambda: f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
            "url": lambda: self._url(merchant),
            "phone": lambda: self._phone(),
            "FIXED": lambda: f"{merchant[:22]:<23}{self.city[:13]:<14}{region.cc}",
        }
        if name in MONTHS_LOCAL:
            return MONTHS_LOCAL[name][month - 1]
        return simple[name]()

    def _truncated(self, merchant: str) -> str:
        """Card networks cut the merchant name field at 18-25 characters."""
        if len(merchant) > 18 and self.rng.random() < 0.25:
            return merchant[: self.rng.randint(18, 22)].rstrip()
        return merchant

    def _amount(self) -> str:
        value = round(10 ** self.rng.uniform(0.3, 3.2), 2)
        currency = self.region.currency
        if currency in ("JPY", "KRW", "IDR", "COP", "CLP"):
            value = round(value * 100)
            return self.rng.choice((f"{currency} {value:,}", f"{value:,} {currency}"))
        choices = [f"{currency} {value:.2f}", f"{value:.2f} {currency}", f"{value:.2f}"]
        if currency in SYMBOLS:
            choices.append(f"{SYMBOLS[currency]}{value:.2f}")
        if self.region.lang in ("de", "fr", "es", "it", "nl", "pl", "sv", "pt_br", "es_latam"):
            choices.append(f"{value:.2f} {currency}".replace(".", ","))
        return self.rng.choice(choices)

    def _url(self, merchant: str) -> str:
        stem = re.sub(r"[^a-z0-9]", "", merchant.lower().split("*")[0].split(" ")[0]) or "shop"
        tld = {
            "UK": ".co.uk",
            "DE": ".de",
            "FR": ".fr",
            "ES": ".es",
            "IT": ".it",
            "NL": ".nl",
            "IN": ".in",
            "AU": ".com.au",
            "CA": ".ca",
            "BR": ".com.br",
            "MX": ".com.mx",
            "SE": ".se",
            "PL": ".pl",
        }
        suffix = self.rng.choice((".com", ".com", tld.get(self._region_code(), ".com")))
        return self.rng.choice((f"{stem}{suffix}", f"WWW.{stem.upper()}{suffix.upper()}", f"help.{stem}.com"))

    def _region_code(self) -> str:
        return next(code for code, region in REGIONS.items() if region is self.region)

    def _phone(self) -> str:
        rng = self.rng
        if self.region.cc in ("US", "CA"):
            return (
                f"{rng.choice(('800', '866', '888', '877', '855'))}-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
            )
        return f"+{rng.randint(30, 99)} {rng.randint(10, 99)} {rng.randint(1000000, 9999999)}"


def _alphanumeric(text: str) -> str:
    """What {MC} keeps of a merchant's name."""
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def _span(start: int, text: str, label: str) -> list[Span]:
    return [Span(start, start + len(text), label)] if text else []


Filled = tuple[str, list[Span]]


def _joined(*parts: Filled) -> Filled:
    """Texts concatenated, each one's spans moved along."""
    text, spans = "", []
    for part_text, part_spans in parts:
        spans += [span.shifted(len(text)) for span in part_spans]
        text += part_text
    return text, spans


def _recased(case: Callable[[str], str], filled: Filled) -> Filled:
    """`case` (upper, lower, title) applied to the text, the spans moved where it changes a length
    ("ß".upper() is "SS"): each of these cases depends only on what comes before a character."""
    text, spans = filled
    cased = case(text)
    if len(cased) == len(text):
        return cased, spans
    return cased, [Span(len(case(text[: s.start])), len(case(text[: s.end])), s.label) for s in spans]


def _tidied(filled: Filled) -> tuple[str, tuple[Span, ...]]:
    """The stripped line (as the data set has it) and its spans, in order, with a city and its
    state or country code ("SEATTLE WA") one LOCATION."""
    text, spans = filled
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    merged: list[Span] = []
    for span in sorted(span.shifted(-lead) for span in spans):
        if merged and span.label == merged[-1].label == "LOCATION" and text[merged[-1].end : span.start] == " ":
            merged[-1] = Span(merged[-1].start, span.end, "LOCATION")
        else:
            merged.append(span)
    return text, tuple(merged)


class Generator:
    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.any_regions = list(REGIONS)
        self.any_weights = [REGIONS[c].weight for c in self.any_regions]

    def pick_region(self, merchant: Merchant) -> str:
        if merchant.regions == ("ANY",):
            return self.rng.choices(self.any_regions, self.any_weights)[0]
        return self.rng.choice(merchant.regions)

    def render(self, merchant: Merchant, index: int) -> str:
        """The merchant's `index`-th line: its spellings take turns, so each one is seen."""
        return self.render_spans(merchant, index)[0]

    def render_spans(self, merchant: Merchant, index: int) -> Filled:
        """render(), and the spans of the line's parts."""
        rng = self.rng
        line = Line(rng, self.pick_region(merchant))
        spelling, spelling_spans = line.fill_spans(merchant.spellings[index % len(merchant.spellings)])
        if merchant.kind == "note":
            # A note's own slots were filled above; the second fill only fills the suffix's.
            filled_note = line.fill_spans(spelling + rng.choice(NOTE_SUFFIXES))
            return _recased(str.lower, _joined(("", spelling_spans), filled_note))
        if merchant.kind == "bare":
            offset, length = merchant.merchant_part(spelling)
            return self._case((spelling, _span(offset, spelling[offset : offset + length], "MERCHANT")))
        if merchant.kind == "raw":
            filled: Filled = (spelling, spelling_spans)
            if rng.random() >= 0.75:
                filled = _joined(line.fill_spans(rng.choice(("{dm} ", "{date} ", ""))), filled)
            filled = _joined(filled, line.fill_spans(rng.choice(("", "", "", " {amt}", " {dm}"))))
        else:
            merchant_part = merchant.merchant_part(spelling)
            if rng.random() < 0.12:
                spelling += " " + rng.choice(LEGAL_FORMS[line.region.lang])
            generic, regional = FORMATS[merchant.kind]
            own: tuple[str, ...] | list[str] = regional.get(line.region.lang, [])
            template = rng.choice(own) if own and rng.random() < 0.55 else rng.choice(generic)
            filled = line.fill_spans(template, spelling, merchant_part)
        if rng.random() < 0.08:
            filled = _joined((rng.choice(NOISE_PREFIXES) + " ", []), filled)
        if rng.random() < 0.08:
            filled = _joined(filled, (" ", []), line.fill_spans(rng.choice(NOISE_SUFFIXES)))
        return self._case(filled)

    def _case(self, filled: Filled) -> Filled:
        roll = self.rng.random()
        if roll < 0.6:
            return _recased(str.upper, filled)
        if roll < 0.9:
            return filled
        return _recased(str.title, filled)

    def composed(
        self, label: str, patterns: list[tuple[str, tuple[str, ...], str]], count: int, taken: set[str]
    ) -> list[tuple[Merchant, str]]:
        """`count` local-looking merchants from (kind, regions, <SLOT> pattern)s, each its own
        group (none of the `taken` ones), in rounds over the patterns; round r's merchants go to
        split SPLIT_CYCLE[r]."""
        merchants: list[tuple[Merchant, str]] = []
        seen = set(taken)
        round_ = 0
        while len(merchants) < count:
            for kind, regions, pattern in self.rng.sample(patterns, len(patterns)):
                region = self.rng.choice(self.any_regions if regions == ("ANY",) else regions)
                family = REGIONS[region].names

                def slot(m: re.Match[str], family: str = family, region: str = region) -> str:
                    return self._instance_slot(m.group(1), family, region)

                marked = re.sub(r"<(\w+)>", slot, pattern)
                core = re.search(r"\[(.*)\]", marked)
                name = marked.replace("[", "").replace("]", "")
                merchant = Merchant(label, kind, (region,), (name,), named=False, core=core.group(1) if core else "")
                if merchant.group not in seen and len(merchants) < count:
                    seen.add(merchant.group)
                    merchants.append((merchant, SPLIT_CYCLE[round_ % len(SPLIT_CYCLE)]))
            round_ += 1
        return merchants

    def _instance_slot(self, name: str, family: str, region: str) -> str:
        rng = self.rng
        if name == "WORD":
            return rng.choice(WORDS[family] if rng.random() < 0.7 else WORDS["en"])
        if name == "SURNAME":
            return rng.choice(SURNAMES[family])
        if name == "PERSON":
            return f"{rng.choice(FIRST_NAMES[family])} {rng.choice(SURNAMES[family])}"
        if name == "CITY":
            return rng.choice(REGIONS[region].cities)[0]
        if name == "COMPANY":
            stem = rng.choice(COMPANY_STEMS + WORDS[family] + SURNAMES[family])
            return f"{stem} {rng.choice(COMPANY_NOUNS)}".strip()
        raise KeyError(name)


def lines_for(merchant: Merchant, rng: random.Random) -> int:
    """How many statement-format lines a named group gets (on top of its bare-name lines): key
    brands and many-spelling raw specs get more; other brands mostly only their bare names, so the
    catalog can be wide and the training set stay small (the formats come with composed merchants)."""
    if merchant.kind == "raw":
        return 1 + min(len(merchant.spellings), 4)
    if merchant.key_brand:
        return 4
    return int(rng.random() < FORMATTED_SHARE)


def generate(seed: int = SEED) -> dict[str, list[dict[str, str]]]:
    """The rows (text, label, group) of each split, deduplicated, in a seeded random order."""
    return {name: [line.row for line in lines] for name, lines in generate_lines(seed).items()}


def generate_lines(seed: int = SEED) -> dict[str, list[GeneratedLine]]:
    """The lines of each split as generate() has them, each with its merchant's name and spans."""
    generator = Generator(seed)
    rng = generator.rng
    splits: dict[str, list[GeneratedLine]] = {name: [] for name in SPLITS}
    seen = set()

    def emit(merchant: Merchant, count: int, split: str) -> int:
        made = 0
        # Notes and whole lines name no merchant; a bare name is its group's merchant too.
        name = None if merchant.kind in ("note", "raw") else merchant.name
        for attempt in range(count * 3):  # retries for lines that come out identical
            if made == count:
                break
            text, spans = _tidied(generator.render_spans(merchant, attempt))
            key = re.sub(r"\s+", " ", text.casefold())
            if key not in seen:
                seen.add(key)
                splits[split].append(GeneratedLine(text, merchant.label, merchant.group, name, spans))
                made += 1
        return made

    for label in LABELS:
        catalogue = read_catalogue(label)
        named = catalogue.named
        made = sum(emit(m, lines_for(m, rng), "train") for m in named)
        # Each spelling of a named merchant also as the bare name (as apps show it): short lines,
        # cheap to train on, and what lets the model remember the brand itself.
        made += sum(emit(replace(m, kind="bare"), len(m.spellings), "train") for m in named if m.kind != "raw")
        notes = catalogue.notes
        named_groups = {m.group for m in named}
        for i, note in enumerate(rng.sample(notes, len(notes))):
            merchant = Merchant(label, "note", ("ANY",), (note,), named=False)
            # A note that names a catalog brand ("tv licence") is that brand's group: train only.
            split = "train" if merchant.group in named_groups else SPLIT_CYCLE[i % len(SPLIT_CYCLE)]
            emit(merchant, 2, split)
        # Local merchants and people, one line each, fill the label up to LINES_PER_LABEL.
        count = max(LINES_PER_LABEL - made, MIN_GENERATED_LINES)
        for merchant, split in generator.composed(label, catalogue.patterns, count, named_groups):
            emit(merchant, 1, split)
    for rows in splits.values():
        rng.shuffle(rows)
    return splits


def write(splits: dict[str, list[dict[str, str]]], directory: Path = DATA_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in splits.items():
        with open(directory / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)


def entity_record(line: GeneratedLine) -> dict:
    """A line of training/data/entities/<split>.jsonl."""
    return {
        "text": line.text,
        "label": line.label,
        "group": line.group,
        "merchant": line.merchant,
        "entities": [{"start": s.start, "end": s.end, "label": s.label} for s in line.spans],
    }


def entity_lines(lines: list[GeneratedLine]) -> list[GeneratedLine]:
    """The lines with a merchant. Notes and the lines the catalogue writes whole are left out of the
    entities data: brands in them ("NATWEST CREDIT CARD") are not marked, so they would teach that a
    merchant's name is not one."""
    return [line for line in lines if line.merchant is not None]


def entity_splits(splits: dict[str, list[GeneratedLine]]) -> dict[str, list[GeneratedLine]]:
    """The entities data of each split: its lines with a merchant, and in validation and test only
    merchants whose name is in no training line (two composed merchants can share a company,
    "ACME LTD SALARY" and "ACME PLC SAL"), so that the test measures merchants never trained on."""
    trained = {line.merchant.casefold() for line in entity_lines(splits["train"])}  # type: ignore[union-attr]
    return {
        name: [line for line in entity_lines(lines) if name == "train" or line.merchant.casefold() not in trained]  # type: ignore[union-attr]
        for name, lines in splits.items()
    }


def write_entities(splits: dict[str, list[GeneratedLine]], directory: Path = ENTITIES_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, lines in entity_splits(splits).items():
        with open(directory / f"{name}.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(entity_record(line), ensure_ascii=False) + "\n" for line in lines)


def main() -> None:
    lines = generate_lines()
    splits = {name: [line.row for line in split] for name, split in lines.items()}
    write(splits)
    write_entities(lines)
    for name, rows in splits.items():
        per_label = Counter(row["label"] for row in rows)
        print(f"{name:<10} {len(rows):>5} lines  " + " ".join(f"{label}={per_label[label]}" for label in LABELS))


if __name__ == "__main__":
    main()
