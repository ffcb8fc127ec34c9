"""One snapshot of the whole synthesized app, so any change to the infrastructure shows up in review.

Update it with `pytest tests/infrastructure --snapshot-update` after a deliberate change.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.infrastructure.synth import REPO_ROOT, SynthesizedApp

# Asset hashes change with every code or model change, not with the infrastructure.
ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
# Custom-resource handlers inlined by aws-cdk-lib change with its releases, not with ours.
INLINE_CODE = re.compile(r'"ZipFile": "(?:[^"\\]|\\.)*"')


class SnapshotsInTestsFolder(JSONSnapshotExtension):
    """tests/__snapshots__/, where the project keeps its snapshots."""

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        return str(REPO_ROOT / "tests" / "__snapshots__" / Path(test_location.filepath).stem)


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(SnapshotsInTestsFolder)


def normalized(templates: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(templates, indent=1, sort_keys=True)
    text = INLINE_CODE.sub('"ZipFile": "<inline code from aws-cdk-lib>"', text)
    return json.loads(ASSET_HASH.sub("<asset-hash>", text))


def test_synthesized_app_matches_the_snapshot(default_app: SynthesizedApp, snapshot_json) -> None:
    assert normalized(default_app.templates) == snapshot_json


def test_synthesized_app_with_two_models_matches_its_snapshot(synthesize, snapshot_json) -> None:
    assert normalized(synthesize("multi_model").templates) == snapshot_json


def test_normalizing_hides_asset_hashes_and_inline_library_code() -> None:
    image = "123.dkr.ecr/pytorchinferenceapi/transaction-classifier:" + "ab" * 32
    templates = {"Stack": {"ImageUri": image, "Code": {"ZipFile": 'exports.handler = () => "ok";'}}}
    assert normalized(templates) == {
        "Stack": {
            "ImageUri": "123.dkr.ecr/pytorchinferenceapi/transaction-classifier:<asset-hash>",
            "Code": {"ZipFile": "<inline code from aws-cdk-lib>"},
        }
    }
