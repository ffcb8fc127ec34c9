"""The labeled data set in training/data/: its size, labels, split and holdout."""

import json
import re
import unicodedata
from collections import Counter

import pytest

from training import generate_data
from training.common import LABELS, SPLITS, read_holdout, read_split


@pytest.fixture(scope="module")
def splits():
    return {name: read_split(name) for name in SPLITS}


def normalized(text: str) -> str:
    """Case, accents and spacing folded, as the uncased tokenizer sees a line."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in folded if not unicodedata.combining(c)).split())


def test_the_committed_files_are_what_the_generator_writes(splits):
    assert generate_data.generate() == splits


def test_every_split_has_exactly_the_ten_labels(splits):
    assert len(LABELS) == 10
    for rows in splits.values():
        assert {row["label"] for row in rows} == set(LABELS)


def test_the_data_set_has_at_least_2000_lines_and_150_per_label(splits):
    per_label = Counter(row["label"] for rows in splits.values() for row in rows)
    assert sum(per_label.values()) >= 2000
    assert min(per_label.values()) >= 150


def test_the_split_is_about_70_15_15(splits):
    total = sum(len(rows) for rows in splits.values())
    shares = {name: len(rows) / total for name, rows in splits.items()}
    assert shares == pytest.approx({"train": 0.70, "validation": 0.15, "test": 0.15}, abs=0.03)


def test_no_merchant_group_is_in_two_splits(splits):
    groups = {name: {row["group"] for row in rows} for name, rows in splits.items()}
    assert not groups["train"] & groups["validation"]
    assert not groups["train"] & groups["test"]
    assert not groups["validation"] & groups["test"]


def test_no_line_appears_twice(splits):
    texts = [normalized(row["text"]) for rows in splits.values() for row in rows]
    assert len(texts) == len(set(texts))


def test_the_holdout_has_ten_hand_written_lines_per_label():
    assert Counter(row["label"] for row in read_holdout()) == {label: 10 for label in LABELS}


def test_no_holdout_merchant_appears_anywhere_in_the_generated_data(splits):
    """The holdout estimates generalization only if the generator never saw its merchants."""
    generated = "\n".join(normalized(row["text"]) for rows in splits.values() for row in rows)
    leaked = [
        row["merchant"]
        for row in read_holdout()
        if re.search(rf"(?<!\w){re.escape(normalized(row['merchant']))}(?!\w)", generated)
    ]
    assert leaked == []


def test_no_holdout_merchant_is_named_in_the_catalogue_files():
    """Nor in the catalogue itself (its patterns too), not only in what this seed generated."""
    files = generate_data.CATALOG_DIR.glob("*.tsv")
    catalogue = "\n".join(normalized(path.read_text(encoding="utf-8")) for path in files)
    leaked = [
        row["merchant"]
        for row in read_holdout()
        if re.search(rf"(?<!\w){re.escape(normalized(row['merchant']))}(?!\w)", catalogue)
    ]
    assert leaked == []


def test_every_catalogue_line_names_known_regions_and_every_format_a_known_family():
    families = {region.lang for region in generate_data.REGIONS.values()}
    for label in LABELS:
        catalogue = generate_data.read_catalogue(label)
        regions = {r for m in catalogue.named for r in m.regions} | {r for _, rs, _ in catalogue.patterns for r in rs}
        assert regions <= set(generate_data.REGIONS) | {"ANY"}, label
        assert catalogue.named and catalogue.patterns and catalogue.notes, label
    for kind, (generic, regional) in generate_data.FORMATS.items():
        assert generic, kind
        assert set(regional) <= families, kind
    assert set(generate_data.LEGAL_FORMS) == families


def test_a_catalogue_line_of_an_unknown_kind_is_refused_with_its_line_number(tmp_path):
    (tmp_path / "food.tsv").write_text("kind\tregions\tnames\nstore\tUK\tTESCO\nshop\tUK\tASDA\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"food.tsv line 3: unknown kind 'shop'"):
        generate_data.read_catalogue("food", tmp_path)


# --- the entities data (training/data/entities/): the spans the generator knows ----------------
@pytest.fixture(scope="module")
def lines():
    return generate_data.generate_lines()


def test_the_committed_entity_files_are_what_the_generator_writes(lines):
    entity_splits = generate_data.entity_splits(lines)
    for split in SPLITS:
        path = generate_data.ENTITIES_DIR / f"{split}.jsonl"
        committed = [json.loads(text) for text in path.open(encoding="utf-8")]
        assert committed == [generate_data.entity_record(line) for line in entity_splits[split]]


def test_the_lines_with_their_spans_are_the_rows_of_the_data_set(lines, splits):
    assert {split: [line.row for line in lines[split]] for split in SPLITS} == splits


def test_every_span_is_a_labeled_stripped_part_of_its_line_and_spans_do_not_overlap(lines):
    for line in (line for split in lines.values() for line in split):
        ends = 0
        for span in line.spans:
            part = line.text[span.start : span.end]
            assert part and part == part.strip() and span.label in generate_data.ENTITY_LABELS, (line, span)
            assert span.start >= ends, line
            ends = span.end


def test_every_line_with_a_merchant_names_it_and_notes_and_whole_lines_name_none(lines):
    for line in (line for split in lines.values() for line in split):
        merchants = [span for span in line.spans if span.label == "MERCHANT"]
        assert bool(merchants) == (line.merchant is not None), line
        assert line.merchant is None or line.merchant.lower() in line.group


def test_every_label_is_in_the_entities_test_split_and_no_test_merchant_is_named_in_train(lines):
    entity_splits = generate_data.entity_splits(lines)
    test = entity_splits["test"]
    assert {span.label for line in test for span in line.spans} == set(generate_data.ENTITY_LABELS)
    train_merchants = {line.merchant.casefold() for line in entity_splits["train"]}
    assert train_merchants.isdisjoint(line.merchant.casefold() for line in test)
    # Only the few lines of a company also paying in train are left out.
    assert len(test) > 0.98 * len(generate_data.entity_lines(lines["test"]))


def test_a_brand_every_spelling_starts_with_is_the_merchant_and_store_is_not(lines):
    starbucks = [line for line in lines["train"] if line.group == "food:starbucks"]
    assert starbucks and all(line.merchant == "STARBUCKS" for line in starbucks)
    named = {line.text[s.start : s.end].upper() for line in starbucks for s in line.spans if s.label == "MERCHANT"}
    assert named == {"STARBUCKS"}
    merchant = generate_data.Merchant("food", "store", ("US",), ("STARBUCKS", "STARBUCKS STORE"), named=True)
    assert (merchant.brand, merchant.merchant_part("STARBUCKS STORE")) == ("STARBUCKS", (0, 9))
    no_brand = generate_data.Merchant("food", "store", ("US",), ("MCDONALD'S", "MCD"), named=True)
    assert (no_brand.brand, no_brand.merchant_part("MCD")) == ("", (0, 3))
    composed = generate_data.Merchant("income", "credit", ("DE",), ("LOHN ACME AG",), named=False, core="ACME")
    assert (composed.name, composed.merchant_part("LOHN ACME AG")) == ("ACME", (5, 4))


def test_a_composed_merchants_marked_core_is_its_merchant_and_the_words_around_it_are_not(lines):
    payroll = [line for split in lines.values() for line in split if line.group.endswith(" ltd salary")]
    assert payroll
    for line in payroll:
        [merchant] = [line.text[s.start : s.end] for s in line.spans if s.label == "MERCHANT"]
        # As printed: a card network may have cut it short.
        assert line.merchant.upper().startswith(merchant.upper())
        assert line.group.startswith(f"income:{line.merchant.lower()} ")


def test_a_city_its_state_and_a_country_code_the_format_prints_are_one_location(lines):
    every_line = [line for split in lines.values() for line in split]
    locations = {line.text[s.start : s.end] for line in every_line for s in line.spans if s.label == "LOCATION"}
    assert "SEATTLE WA" in locations and "LONDON GBR" in locations


def test_spans_follow_a_case_change_that_changes_the_length():
    spans = [generate_data.Span(7, 9, "STORE_ID"), generate_data.Span(10, 14, "LOCATION")]
    text, spans = generate_data._recased(str.upper, ("straße 12 köln", spans))
    assert text == "STRASSE 12 KÖLN"
    assert [text[s.start : s.end] for s in spans] == ["12", "KÖLN"]
