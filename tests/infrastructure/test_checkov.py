"""checkov, an outside IaC scanner, finds nothing in any variant's templates: every check passes
or is skipped on its resource, in the template, with a reason (infra/checkov_skips.py).

One checkov process, offline, scans a folder holding every template of every variant twice: as
synthesized, and with the skips taken out, which shows that each skip stands for a failing check."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.infrastructure.synth import REPO_ROOT, VARIANTS

# Its own venv, made by `make install`: checkov's pins clash with requirements-dev.txt's.
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
AS_SYNTHESIZED = "as-synthesized"
WITHOUT_SKIPS = "without-skips"


@dataclass(frozen=True)
class Scan:
    templates: dict[str, dict[str, Any]]  # by file name
    results: dict[str, dict[str, list[dict[str, Any]]]]  # folder -> passed/failed/skipped -> results
    summary: dict[str, Any]


def without_skips(template: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(template)
    for resource in stripped["Resources"].values():
        resource.get("Metadata", {}).pop("checkov", None)
    return stripped


def skips(template: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """(logical id, skip) of every checkov skip in the template."""
    return [
        (logical_id, entry)
        for logical_id, resource in template["Resources"].items()
        for entry in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]


@pytest.fixture(scope="module")
def scan(synthesize, tmp_path_factory: pytest.TempPathFactory) -> Scan:
    assert CHECKOV.is_file(), f"{CHECKOV} is missing: run `make install`"
    folder = tmp_path_factory.mktemp("checkov")
    templates = {}
    for variant in VARIANTS:
        for stack_name, template in synthesize(variant).templates.items():
            name = f"{variant}--{stack_name}.template.json"
            templates[name] = template
            for subfolder, body in ((AS_SYNTHESIZED, template), (WITHOUT_SKIPS, without_skips(template))):
                (folder / subfolder).mkdir(exist_ok=True)
                (folder / subfolder / name).write_text(json.dumps(body))
    run = subprocess.run(
        [str(CHECKOV), "--directory", str(folder), "--framework", "cloudformation", "--output", "json"]
        + ["--skip-download", "--compact"],
        capture_output=True,
        text=True,
        # No download of Prisma Cloud's check id mapping either: the scan is offline.
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        timeout=300,
    )
    assert run.returncode in (0, 1), run.stderr[-3000:]  # 1: some check failed (the stripped copies)
    report = json.loads(run.stdout)
    results: dict[str, dict[str, list]] = {AS_SYNTHESIZED: {}, WITHOUT_SKIPS: {}}
    for outcome, items in report["results"].items():
        for item in items:
            subfolder = Path(item["file_path"]).parts[1]
            results[subfolder].setdefault(outcome, []).append(item)
    return Scan(templates, results, report["summary"])


def findings(results: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(template file, logical id, check id) of each result."""
    return {(Path(r["file_path"]).name, r["resource"].split(".", 1)[1], r["check_id"]) for r in results}


def test_checkov_reads_every_resource_of_every_template(scan: Scan) -> None:
    assert scan.summary["parsing_errors"] == 0
    resources = sum(len(template["Resources"]) for template in scan.templates.values())
    assert scan.summary["resource_count"] == 2 * resources
    assert len(scan.results[AS_SYNTHESIZED]["passed_checks"]) > 1000


def test_checkov_finds_no_failed_check_in_any_variant(scan: Scan) -> None:
    assert sorted(findings(scan.results[AS_SYNTHESIZED].get("failed_checks", []))) == []


def test_each_skip_stands_for_a_check_that_fails_without_it(scan: Scan) -> None:
    skipped = findings(scan.results[AS_SYNTHESIZED]["skipped_checks"])
    assert skipped == findings(scan.results[WITHOUT_SKIPS]["failed_checks"])
    declared = {(name, logical_id, entry["id"]) for name, t in scan.templates.items() for logical_id, entry in skips(t)}
    assert declared == skipped


def test_each_skip_names_one_check_and_gives_its_reason_in_a_sentence(scan: Scan) -> None:
    for name, template in scan.templates.items():
        for logical_id, entry in skips(template):
            assert set(entry) == {"id", "comment"}, (name, logical_id)
            assert re.fullmatch(r"CKV_AWS_\d+", entry["id"]), (name, logical_id)
            assert re.fullmatch(r"[A-Z].{30,300}[.)]", entry["comment"]), (name, logical_id, entry["comment"])
