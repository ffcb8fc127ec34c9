"""The AWS session of this shell, as the CDK CLI sees it, and what to say when it is missing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

NO_CREDENTIALS = "no AWS credentials: set AWS_PROFILE, or run `aws configure` / `aws sso login`"
NO_REGION = "no AWS region: set AWS_REGION (or a region in your AWS profile)"


def no_profile(error: ProfileNotFound) -> str:
    return f"no AWS profile {error.kwargs['profile']!r}: set AWS_PROFILE to one of `aws configure list-profiles`"


def aws_session(region: str | None = None) -> boto3.Session:
    # The CDK CLI (AWS SDK for JavaScript) reads AWS_REGION before AWS_DEFAULT_REGION and the
    # profile; boto3 ignores AWS_REGION, so without this the tools could look in another region.
    return boto3.Session(region_name=region or os.environ.get("AWS_REGION") or None)


@contextmanager
def aws_errors_as(error: type[Exception]) -> Iterator[None]:
    """boto3's failures inside the block, raised as `error` with one line for the user."""
    try:
        yield
    except ProfileNotFound as failure:
        raise error(no_profile(failure)) from None
    except NoCredentialsError:
        raise error(NO_CREDENTIALS) from None
    except NoRegionError:
        raise error(f"{NO_REGION}, or pass --region") from None
    except ClientError as failure:
        raise error(f"AWS refused: {failure}") from None
    except BotoCoreError as failure:
        raise error(f"AWS: {failure}") from None


def stack_outputs(session: boto3.Session, stack: str, error: type[Exception]) -> dict[str, str]:
    """The deployed stack's outputs by key; `error` with one line if the region has no such stack."""
    cloudformation = session.client("cloudformation")
    try:
        (description,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as failure:
        if failure.response["Error"]["Code"] != "ValidationError":
            raise
        raise error(f"stack {stack} not found in {cloudformation.meta.region_name}") from None
    return {output["OutputKey"]: output["OutputValue"] for output in description.get("Outputs", [])}
