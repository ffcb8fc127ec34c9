"""The CloudWatch dashboard: each model function and its cold starts, the API and the bulk job on one page.

The alarms are not on it: an alarm widget refers to alarms by ARN (Fn::GetAtt), which moto's
CloudFormation (the deploy rehearsal) cannot resolve; CloudWatch lists them under Alarms.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from inference.settings import METRICS_NAMESPACE
from infra.nodes import timeout_of

PERIOD = Duration.minutes(5)
P50, P99 = cloudwatch.Stats.p(50), cloudwatch.Stats.p(99)
# The dashboard grid is 24 columns wide: two graphs per row.
HALF = 12
# Lambda reports a cold start's init time only on the REPORT log line of its first invocation,
# not as a metric: Logs Insights reads it there (it runs when the dashboard is viewed).
INIT_DURATION_QUERY = [
    'filter @type = "REPORT" and ispresent(@initDuration)',
    "stats count() as coldStarts, avg(@initDuration) as avgInitMs, max(@initDuration) as maxInitMs by bin(5m)",
]


class ServiceDashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, tuple[lambda_.Function, logs.ILogGroup]],
        api: apigw.RestApi,
        bulk_state_machine: sfn.IStateMachine | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Dashboards are global to the account, so the region keeps two deployments apart.
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{Stack.of(self).stack_name}-{Aws.REGION}",
            default_interval=Duration.hours(3),
        )
        self.url = (
            f"https://console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
            f"#dashboards/dashboard/{self.dashboard.dashboard_name}"
        )
        for name, (function, log_group) in functions.items():
            self._add_function(name, function, log_group)
        # Every model function has the configured timeout.
        timeout = timeout_of(next(iter(functions.values()))[0])
        self.dashboard.add_widgets(
            _graph(
                "API requests and errors",
                api.metric_count(period=PERIOD, label="requests"),
                api.metric_client_error(period=PERIOD, label="4xx"),
                api.metric_server_error(period=PERIOD, label="5xx"),
            ),
            _graph(
                "API latency (ms): in total, and waiting for the function (integration)",
                api.metric_latency(period=PERIOD, statistic=P50, label="latency p50"),
                api.metric_latency(period=PERIOD, statistic=P99, label="latency p99"),
                api.metric_integration_latency(period=PERIOD, statistic=P50, label="integration p50"),
                api.metric_integration_latency(period=PERIOD, statistic=P99, label="integration p99"),
                annotation=_timeout(timeout),
            ),
        )

        if bulk_state_machine:
            self.dashboard.add_widgets(
                _graph(
                    "Bulk jobs",
                    bulk_state_machine.metric_started(period=PERIOD, label="started"),
                    bulk_state_machine.metric_succeeded(period=PERIOD, label="succeeded"),
                    bulk_state_machine.metric_failed(period=PERIOD, label="failed"),
                ),
                _graph("Bulk lines scored, and lines refused", *_bulk_line_metrics(service=next(iter(functions)))),
            )

    def _add_function(self, name: str, function: lambda_.Function, log_group: logs.ILogGroup) -> None:
        """Two rows for one model's function, titled with its package name."""
        cold_starts = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name="ColdStart",
            # Powertools' ColdStart metric carries the function name besides the service.
            dimensions_map={"function_name": function.function_name, "service": name},
            statistic=cloudwatch.Stats.SUM,
            period=PERIOD,
            label="cold starts",
        )
        self.dashboard.add_widgets(
            _graph(
                f"{name}: function invocations, errors, throttles",
                function.metric_invocations(period=PERIOD, label="invocations"),
                function.metric_errors(period=PERIOD, label="errors"),
                function.metric_throttles(period=PERIOD, label="throttles"),
            ),
            _graph(
                f"{name}: function duration (ms)",
                function.metric_duration(period=PERIOD, statistic=P50, label="p50"),
                function.metric_duration(period=PERIOD, statistic=P99, label="p99"),
                annotation=_timeout(timeout_of(function)),
            ),
        )
        self.dashboard.add_widgets(
            _graph(f"{name}: cold starts", cold_starts),
            cloudwatch.LogQueryWidget(
                title=f"{name}: cold start init duration (ms), from the REPORT log lines",
                log_group_names=[log_group.log_group_name],
                query_lines=INIT_DURATION_QUERY,
                view=cloudwatch.LogQueryVisualizationType.TABLE,
                width=HALF,
            ),
        )


def _timeout(timeout: Duration) -> cloudwatch.HorizontalAnnotation:
    return cloudwatch.HorizontalAnnotation(value=timeout.to_milliseconds(), label="timeout")


def _bulk_line_metrics(service: str) -> list[cloudwatch.Metric]:
    """The handler's counts of bulk lines (inference/function.py), summed per period; the bulk job
    scores with the first model, `service`."""
    return [
        cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={"service": service},
            statistic=cloudwatch.Stats.SUM,
            period=PERIOD,
            label=label,
        )
        for name, label in (("BulkItems", "lines"), ("BulkItemErrors", "lines refused (error objects)"))
    ]


def _graph(
    title: str, *metrics: cloudwatch.IMetric, annotation: cloudwatch.HorizontalAnnotation | None = None
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title,
        left=list(metrics),
        left_annotations=[annotation] if annotation else None,
        width=HALF,
    )
