"""CDK entry point (`npx cdk synth|deploy|destroy`): the inference stack, checked by cdk-nag."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

# jsii's Node runs when aws_cdk is imported. On Node 20 it prints a 12-line end-of-life banner
# (as Python byte strings) on every synth, burying the one-line configuration errors below; the
# README asks for Node 22 or later and says so once.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk

from deployment.settings import SettingsError, read_settings
from inference.package import PackageError
from infra.nag import add_nag_checks
from infra.stack import InferenceStack


def build_app(context: Mapping[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    """The whole app; the CLI passes context (cdk.json + `-c`) through the environment, and the
    settings are read from it as the tools read them (deployment/settings.py)."""
    app = cdk.App(context=context, outdir=outdir)
    config = read_settings(app.node.get_all_context())
    InferenceStack(app, config=config)
    add_nag_checks(app)
    return app


if __name__ == "__main__":
    try:
        app = build_app()
    except SettingsError as error:
        print(f"Invalid configuration: {error}", file=sys.stderr)
        sys.exit(2)
    except PackageError as error:
        print(f"Invalid model package: {error}", file=sys.stderr)
        sys.exit(2)
    app.synth()
