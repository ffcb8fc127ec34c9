"""Logs and metrics: one structured line per request, and never the request text."""

import json

from local.lambda_context import LocalLambdaContext
from tests.lambda_events import http_v2_event, rest_event, sam_rest_event

SECRET = "JOHN Q PUBLIC ACCT 99812345 RENT"


def test_each_request_logs_one_line_with_counts_labels_and_latency(handler_module, handler_log):
    context = LocalLambdaContext()
    handler_module.lambda_handler({"texts": ["STARBUCKS STORE 10432 SEATTLE WA", "CVS/PHARMACY #04512"]}, context)
    [line] = [json.loads(line) for line in handler_log.getvalue().splitlines()]
    assert line["message"] == "request"
    assert line["function_request_id"] == context.aws_request_id
    assert line["event_kind"] == "direct" and line["status"] == 200
    assert (line["texts"], line["chars"]) == (2, 51)
    assert line["labels"][0] == "food" and len(line["labels"]) == 2
    assert line["latency_ms"] >= 0
    assert isinstance(line["cold_start"], bool)


def test_a_refused_request_logs_its_error_code(invoke, handler_log):
    invoke(rest_event(None, method="GET"))
    [line] = [json.loads(line) for line in handler_log.getvalue().splitlines()]
    assert (line["status"], line["error_code"], line["texts"]) == (405, "method_not_allowed", 0)


def test_request_texts_never_reach_the_logs_or_metrics(invoke, handler_log, capsys):
    body = json.dumps({"texts": [SECRET, SECRET.lower()]})
    events = [
        {"text": SECRET},
        rest_event(body),
        sam_rest_event(body),
        http_v2_event(body),
        {"text": SECRET * 100},  # 413
        {"text": SECRET, "top_k": 0},  # 400
        {"text": SECRET, SECRET: 1},  # unknown field
        rest_event(SECRET),  # not JSON
    ]
    for event in events:
        invoke(event)
    logged = handler_log.getvalue()
    assert len(logged.splitlines()) == len(events)
    everything_written = logged + capsys.readouterr().out
    assert "JOHN" not in everything_written.upper()
    assert "99812345" not in everything_written
