"""The labeled data set in training/data/: its size, labels, split and holdout."""

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
    catalogue = "\n".join(normalized(path.read_text(encoding="utf-8")) for path in generate_data.CATALOG_DIR.glob("*.tsv"))
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
