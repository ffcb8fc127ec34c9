"""CloudWatch alarms on the model function and the API.

They have no actions: subscribe an SNS topic (or a chat integration) to them in the console
or with `alarm.add_alarm_action(...)` if you want to be paged.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

PERIOD = Duration.minutes(5)
# p99 latency above this share of the function timeout means requests are close to failing.
LATENCY_SHARE_OF_TIMEOUT = 0.8


class ServiceAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        api: apigw.RestApi,
        timeout: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        watched = [
            (
                "FunctionErrors",
                function.metric_errors(period=PERIOD),
                1,
                "The model function failed: unhandled exception, timeout or out of memory",
            ),
            (
                "FunctionThrottles",
                function.metric_throttles(period=PERIOD),
                1,
                "Invocations were throttled: the account or function concurrency limit was hit",
            ),
            ("Api5xx", api.metric_server_error(period=PERIOD), 1, "The API answered with a 5xx status"),
            (
                "ApiLatencyP99",
                api.metric_latency(period=PERIOD, statistic="p99"),
                timeout.to_milliseconds() * LATENCY_SHARE_OF_TIMEOUT,
                "p99 API latency is close to the function timeout",
            ),
        ]
        self.alarms = [
            metric.create_alarm(
                self,
                construct_id,
                alarm_description=description,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            for construct_id, metric, threshold, description in watched
        ]
