"""CloudWatch alarms on each model function and on the API, optionally sent to an email address
and/or to an existing SNS topic.

With an address (config `alarm_email`), each alarm notifies an SNS topic of this stack with an
email subscription; with a topic ARN (config `alarm_topic_arn`), it notifies that topic, which the
stack only refers to. Either way, when it goes into ALARM and when it is back to OK.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

PERIOD = Duration.minutes(5)
# p99 latency above this share of the function timeout means requests are close to failing.
LATENCY_SHARE_OF_TIMEOUT = 0.8
CLOUDWATCH = iam.ServicePrincipal("cloudwatch.amazonaws.com")


class ServiceAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        api: apigw.RestApi,
        timeout: Duration,
        alarm_email: str,
        alarm_topic_arn: str,
        bulk_state_machine: sfn.IStateMachine | None = None,
    ) -> None:
        """`functions`: each model's function, by package name."""
        super().__init__(scope, construct_id)
        watched: list[tuple[str, cloudwatch.Metric, float, str]] = []
        for name, function in functions.items():
            watched += [
                (
                    f"FunctionErrors-{name}",
                    function.metric_errors(period=PERIOD),
                    1,
                    f"The {name} function failed: unhandled exception, timeout or out of memory",
                ),
                (
                    f"FunctionThrottles-{name}",
                    function.metric_throttles(period=PERIOD),
                    1,
                    f"Invocations of the {name} function were throttled: the account or function concurrency "
                    "limit was hit",
                ),
            ]
        watched += [
            ("Api5xx", api.metric_server_error(period=PERIOD), 1, "The API answered with a 5xx status"),
            (
                "ApiLatencyP99",
                api.metric_latency(period=PERIOD, statistic="p99"),
                timeout.to_milliseconds() * LATENCY_SHARE_OF_TIMEOUT,
                "p99 API latency is close to the function timeout",
            ),
        ]
        if bulk_state_machine:
            watched.append(
                (
                    "BulkJobFailed",
                    bulk_state_machine.metric_failed(period=PERIOD),
                    1,
                    "A bulk job failed: more batches failed than tolerated, or it could not read its input",
                )
            )
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
        self.topics: list[sns.ITopic] = []
        if alarm_email:
            self.topics.append(self._email_topic(alarm_email))
        if alarm_topic_arn:
            # Its owner's topic (and key, if encrypted): their policies must let CloudWatch publish.
            self.topics.append(sns.Topic.from_topic_arn(self, "ExistingTopic", alarm_topic_arn))
        for topic in self.topics:
            action = cloudwatch_actions.SnsAction(topic)
            for alarm in self.alarms:
                alarm.add_alarm_action(action)
                alarm.add_ok_action(action)

    def _email_topic(self, alarm_email: str) -> sns.Topic:
        # Encrypted at rest with a key of this stack: CloudWatch cannot publish to a topic under
        # the AWS managed key (alias/aws/sns), whose policy does not let it use the key.
        key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts the alarm notification topic",
            enable_key_rotation=True,
            # Deleted with the stack after KMS's shortest waiting period (not billed meanwhile).
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        key.grant(CLOUDWATCH, "kms:Decrypt", "kms:GenerateDataKey*")
        topic = sns.Topic(self, "Topic", display_name="Transaction classifier alarms", master_key=key, enforce_ssl=True)
        # The topic policy replaces SNS's default one: CloudWatch may publish for these alarms only.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[CLOUDWATCH],
                resources=[topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": [alarm.alarm_arn for alarm in self.alarms]}},
            )
        )
        topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        return topic
