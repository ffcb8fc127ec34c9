"""Typed lookups in the construct tree. CDK types `node.default_child` as IConstruct | None and
`node.find_child` as IConstruct; these name the class the code relies on (not checked at run time,
as before) so that mypy checks what is done with it."""

from __future__ import annotations

from typing import TypeVar, cast

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

T = TypeVar("T")


def default_child(construct: IConstruct, kind: type[T]) -> T:
    """The construct's CloudFormation resource (its default child), as `kind`."""
    child = construct.node.default_child
    assert child is not None, f"{construct.node.path} has no default child"
    return cast(T, child)


def find_child(construct: IConstruct, construct_id: str, kind: type[T]) -> T:
    """construct.node.find_child(construct_id) (which raises when there is none), as `kind`."""
    return cast(T, construct.node.find_child(construct_id))


def timeout_of(function: lambda_.Function) -> Duration:
    """A function's timeout, which every function of this app sets (CDK types it Duration | None)."""
    timeout = function.timeout
    assert timeout is not None, f"{function.node.path} has no timeout"
    return timeout
