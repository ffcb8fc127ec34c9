"""The warm-up schedule: a ping that keeps one execution environment (and its loaded model) warm."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from inference.events import WARMUP_EVENT


class WarmupSchedule(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, target: lambda_.IFunction, rate_minutes: int) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "Rule",
            description="Pings the model function so a warm instance is usually ready",
            schedule=events.Schedule.rate(Duration.minutes(rate_minutes)),
            targets=[
                targets.LambdaFunction(
                    target,
                    event=events.RuleTargetInput.from_object(WARMUP_EVENT),
                    # A missed ping is harmless and the next one comes soon: never retry.
                    retry_attempts=0,
                )
            ],
        )
