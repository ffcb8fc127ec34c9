"""Watching the deployed stack: the dashboard, the outputs the operator needs, and where the alarms
go: an optional email topic (config `alarm_email`) and an optional existing topic (`alarm_topic_arn`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.infrastructure.synth import ALARM_TOPIC_ARN, REPO_ROOT, SynthesizedApp
from tests.infrastructure.test_stack import ALARMS, access_log_group, model_function, model_function_id, only

ALARM_EMAIL = "ops@example.com"


def logical_id(template: Template, resource_type: str) -> str:
    (resource_id,) = template.find_resources(resource_type)
    return resource_id


def dashboard_widgets(template: Template) -> list[dict[str, Any]]:
    """The dashboard body as JSON, with each CloudFormation reference written as <LogicalId>."""
    parts = only(template, "AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = "".join(part if isinstance(part, str) else f"<{part['Ref']}>" for part in parts)
    return json.loads(body)["widgets"]


def graphed_metrics(template: Template) -> set[tuple[str, ...]]:
    """(namespace, metric, statistic, dimension name, value, ...) of every graphed metric."""
    return {
        (*metric[:-1], metric[-1]["stat"])
        for widget in dashboard_widgets(template)
        if widget["type"] == "metric"
        for metric in widget["properties"]["metrics"]
    }


def function_log_group(template: Template) -> str:
    """The logical id of the function's log group (the API's access logs have another)."""
    return model_function(template)["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]


def function_environment(template: Template) -> dict[str, str]:
    return model_function(template)["Properties"]["Environment"]["Variables"]


def test_dashboard_graphs_invocations_errors_throttles_and_duration_percentiles(template: Template) -> None:
    function = ("FunctionName", f"<{model_function_id(template)}>")
    assert {
        ("AWS/Lambda", "Invocations", *function, "Sum"),
        ("AWS/Lambda", "Errors", *function, "Sum"),
        ("AWS/Lambda", "Throttles", *function, "Sum"),
        ("AWS/Lambda", "Duration", *function, "p50"),
        ("AWS/Lambda", "Duration", *function, "p99"),
    } <= graphed_metrics(template)


def test_dashboard_graphs_the_cold_start_metric_the_function_publishes(template: Template) -> None:
    environment = function_environment(template)
    function_name = f"<{model_function_id(template)}>"
    cold_starts = [metric for metric in graphed_metrics(template) if metric[1] == "ColdStart"]
    assert cold_starts == [
        (
            environment["POWERTOOLS_METRICS_NAMESPACE"],
            "ColdStart",
            "function_name",
            function_name,
            "service",
            environment["POWERTOOLS_SERVICE_NAME"],
            "Sum",
        )
    ]


def test_dashboard_reads_init_durations_from_the_functions_report_lines(template: Template) -> None:
    (log_widget,) = [widget for widget in dashboard_widgets(template) if widget["type"] == "log"]
    query = log_widget["properties"]["query"]
    assert query.startswith(f"SOURCE '<{function_log_group(template)}>' | ")
    assert 'filter @type = "REPORT" and ispresent(@initDuration)' in query
    assert "avg(@initDuration)" in query and "max(@initDuration)" in query


def test_dashboard_graphs_this_apis_requests_4xx_5xx_and_latencies(template: Template) -> None:
    api_name = only(template, "AWS::ApiGateway::RestApi")["Properties"]["Name"]
    api = ("ApiName", api_name)
    assert {
        ("AWS/ApiGateway", "Count", *api, "SampleCount"),
        ("AWS/ApiGateway", "4XXError", *api, "Sum"),
        ("AWS/ApiGateway", "5XXError", *api, "Sum"),
        ("AWS/ApiGateway", "Latency", *api, "p50"),
        ("AWS/ApiGateway", "Latency", *api, "p99"),
        ("AWS/ApiGateway", "IntegrationLatency", *api, "p50"),
        ("AWS/ApiGateway", "IntegrationLatency", *api, "p99"),
    } <= graphed_metrics(template)


def test_api_is_named_after_the_stack_so_its_metrics_are_its_own(template: Template) -> None:
    # API Gateway's metrics are keyed by API name: a shared name would mix other APIs in.
    assert only(template, "AWS::ApiGateway::RestApi")["Properties"]["Name"] == "PytorchInferenceApi"
    api_alarms = template.find_resources("AWS::CloudWatch::Alarm", {"Properties": {"Namespace": "AWS/ApiGateway"}})
    assert len(api_alarms) == 2
    for alarm in api_alarms.values():
        assert alarm["Properties"]["Dimensions"] == [{"Name": "ApiName", "Value": "PytorchInferenceApi"}]


def test_dashboard_name_holds_the_stack_and_region_and_the_outputs_point_to_it(template: Template) -> None:
    dashboard = only(template, "AWS::CloudWatch::Dashboard")["Properties"]
    assert dashboard["DashboardName"] == {"Fn::Join": ["", ["PytorchInferenceApi-", {"Ref": "AWS::Region"}]]}
    dashboard_id = logical_id(template, "AWS::CloudWatch::Dashboard")
    outputs = template.find_outputs("*")
    assert outputs["DashboardName"]["Value"] == {"Ref": dashboard_id}
    url = outputs["DashboardUrl"]["Value"]["Fn::Join"][1]
    assert url == [
        "https://console.aws.amazon.com/cloudwatch/home?region=",
        {"Ref": "AWS::Region"},
        "#dashboards/dashboard/",
        {"Ref": dashboard_id},
    ]


def test_outputs_name_the_function_and_its_log_group(template: Template) -> None:
    outputs = template.find_outputs("*")
    assert outputs["FunctionName"]["Value"] == {"Ref": model_function_id(template)}
    assert outputs["LogGroupName"]["Value"] == {"Ref": function_log_group(template)}
    assert outputs["AccessLogGroupName"]["Value"] == {"Ref": access_log_group(template)}


def test_alarms_notify_nobody_by_default(template: Template) -> None:
    for resource_type in ("AWS::SNS::Topic", "AWS::SNS::Subscription", "AWS::KMS::Key"):
        template.resource_count_is(resource_type, 0)
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        assert "AlarmActions" not in alarm["Properties"] and "OKActions" not in alarm["Properties"]


@pytest.fixture(scope="module")
def emailing(synthesize) -> Template:
    return synthesize("alarm_email").app_template


def test_alarm_email_subscribes_the_address_to_a_topic(emailing: Template) -> None:
    topic_id = logical_id(emailing, "AWS::SNS::Topic")
    emailing.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": ALARM_EMAIL, "TopicArn": {"Ref": topic_id}}
    )


def test_every_alarm_notifies_the_topic_on_alarm_and_on_ok(emailing: Template) -> None:
    topic = [{"Ref": logical_id(emailing, "AWS::SNS::Topic")}]
    alarms = emailing.find_resources("AWS::CloudWatch::Alarm").values()
    assert len(alarms) == ALARMS
    for alarm in alarms:
        assert (alarm["Properties"]["AlarmActions"], alarm["Properties"]["OKActions"]) == (topic, topic)


def test_topic_is_encrypted_with_a_rotated_key_cloudwatch_may_use(emailing: Template) -> None:
    key_id = logical_id(emailing, "AWS::KMS::Key")
    emailing.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}})
    key = only(emailing, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    # The AWS managed key (alias/aws/sns) would not let CloudWatch publish: the key must.
    cloudwatch_grants = [
        statement["Action"]
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        if statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch_grants == [["kms:Decrypt", "kms:GenerateDataKey*"]]


def test_topic_takes_tls_only_and_publications_from_these_alarms_only(emailing: Template) -> None:
    statements = only(emailing, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]["Statement"]
    by_effect = {statement["Effect"]: statement for statement in statements}
    assert by_effect["Deny"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    allow = by_effect["Allow"]
    assert (allow["Principal"], allow["Action"]) == ({"Service": "cloudwatch.amazonaws.com"}, "sns:Publish")
    alarm_arns = [{"Fn::GetAtt": [alarm_id, "Arn"]} for alarm_id in emailing.find_resources("AWS::CloudWatch::Alarm")]
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": alarm_arns}}


def alarm_and_ok_actions(template: Template) -> list[tuple[list[Any], list[Any]]]:
    alarms = template.find_resources("AWS::CloudWatch::Alarm").values()
    assert len(alarms) == ALARMS
    return [(alarm["Properties"]["AlarmActions"], alarm["Properties"]["OKActions"]) for alarm in alarms]


def test_alarm_topic_arn_notifies_that_topic_and_creates_no_topic_or_key(synthesize) -> None:
    template = synthesize("alarm_topic").app_template
    assert alarm_and_ok_actions(template) == [([ALARM_TOPIC_ARN], [ALARM_TOPIC_ARN])] * ALARMS
    for resource_type in ("AWS::SNS::Topic", "AWS::SNS::TopicPolicy", "AWS::SNS::Subscription", "AWS::KMS::Key"):
        template.resource_count_is(resource_type, 0)


def test_alarm_email_and_topic_arn_together_notify_both_topics(synthesize) -> None:
    template = synthesize("alarm_email_and_topic").app_template
    both = [{"Ref": logical_id(template, "AWS::SNS::Topic")}, ALARM_TOPIC_ARN]
    assert alarm_and_ok_actions(template) == [(both, both)] * ALARMS
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": ALARM_EMAIL})


@pytest.mark.slow
def test_the_handler_publishes_cold_starts_as_the_dashboard_reads_them(default_app: SynthesizedApp) -> None:
    """The real handler, with the function's environment from the template, on its first event."""
    template = default_app.app_template
    environment = {
        **os.environ,
        **function_environment(template),
        "MODEL_DIR": str(REPO_ROOT / "model_artifacts" / "transaction-classifier"),
    }
    first_invocation = (
        "from inference.handler import lambda_handler; from local.lambda_context import LocalLambdaContext; "
        "lambda_handler({'warmup': True}, LocalLambdaContext(function_name='the-function'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", first_invocation],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    published = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"_aws"')]
    (cold_start,) = [record for record in published if "ColdStart" in record]
    (directive,) = cold_start["_aws"]["CloudWatchMetrics"]
    (namespace, metric, *dimensions, _) = next(m for m in graphed_metrics(template) if m[1] == "ColdStart")
    assert (directive["Namespace"], directive["Metrics"][0]["Name"]) == (namespace, metric)
    assert [sorted(names) for names in directive["Dimensions"]] == [sorted(dimensions[0::2])]
    assert (cold_start["function_name"], cold_start["service"]) == ("the-function", dimensions[3])
