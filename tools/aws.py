"""The AWS session of this shell, as the CDK CLI sees it, and what to say when it is missing."""

from __future__ import annotations

import os

import boto3
from botocore.exceptions import ProfileNotFound

NO_CREDENTIALS = "no AWS credentials: set AWS_PROFILE, or run `aws configure` / `aws sso login`"
NO_REGION = "no AWS region: set AWS_REGION (or a region in your AWS profile)"


def no_profile(error: ProfileNotFound) -> str:
    return f"no AWS profile {error.kwargs['profile']!r}: set AWS_PROFILE to one of `aws configure list-profiles`"


def aws_session(region: str | None = None) -> boto3.Session:
    # The CDK CLI (AWS SDK for JavaScript) reads AWS_REGION before AWS_DEFAULT_REGION and the
    # profile; boto3 ignores AWS_REGION, so without this the tools could look in another region.
    return boto3.Session(region_name=region or os.environ.get("AWS_REGION") or None)
