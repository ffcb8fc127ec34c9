"""Synthesized apps, shared across the infrastructure tests: synthesis runs node through jsii
and takes seconds, so each variant is synthesized once per session."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from tests.infrastructure.synth import STAGED_VARIANTS, SynthesizedApp, synthesize_app


@pytest.fixture(scope="session")
def synthesize(tmp_path_factory: pytest.TempPathFactory):
    """synthesize(variant) -> SynthesizedApp (variants: tests/infrastructure/synth.py VARIANTS)."""
    apps: dict[str, SynthesizedApp] = {}

    def synthesize_variant(variant: str) -> SynthesizedApp:
        if variant not in apps:
            outdir = tmp_path_factory.mktemp(f"cdk.out-{variant}")
            apps[variant] = synthesize_app(variant, outdir, stage_assets=variant in STAGED_VARIANTS)
        return apps[variant]

    return synthesize_variant


@pytest.fixture(scope="session")
def default_app(synthesize) -> SynthesizedApp:
    return synthesize("default")


@pytest.fixture(scope="session")
def template(default_app: SynthesizedApp) -> Template:
    return default_app.app_template
