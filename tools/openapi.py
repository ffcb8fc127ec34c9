"""`python -m tools.openapi [--check]`: writes docs/openapi.json, the API's OpenAPI 3.1 document,
from the served package's contract (its task's request and answer models, inference/tasks/) and
the deployment's limits in cdk.json. --check exits 1 when the file is stale instead.

Nothing in the document is written by hand: what validates requests (the handler, the API
Gateway model) and what documents them come from the same pydantic models.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from deployment.catalog import PACKAGES_DIR, SERVED_PACKAGE
from deployment.openapi import document
from deployment.settings import load_settings
from inference.schema import Limits
from inference.tasks import read_package

REPO = Path(__file__).resolve().parents[1]
DOCUMENT = REPO / "docs" / "openapi.json"


def current() -> str:
    """The document for the served package and cdk.json's limits, as written to docs/openapi.json."""
    runtime = load_settings(REPO, cdk_args="").runtime  # the document is of cdk.json's own settings
    limits = Limits(max_text_chars=runtime.max_text_chars, max_batch=runtime.max_batch)
    return (
        json.dumps(document(read_package(PACKAGES_DIR / SERVED_PACKAGE), limits), indent=2, ensure_ascii=False) + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/openapi.json is stale; write nothing")
    args = parser.parse_args(argv)
    text = current()
    if args.check:
        if DOCUMENT.is_file() and DOCUMENT.read_text(encoding="utf-8") == text:
            return 0
        print(f"{DOCUMENT.relative_to(REPO)} is stale: run `python -m tools.openapi`", file=sys.stderr)
        return 1
    DOCUMENT.write_text(text, encoding="utf-8")
    print(f"wrote {DOCUMENT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
