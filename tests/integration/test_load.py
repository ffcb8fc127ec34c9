"""A short run of the load test (`make load` runs the long one): concurrent users mixing valid
single and batch requests with invalid ones against the local server, every answer checked.
tests/integration/test_load_checks.py shows that the checks fail wrong servers."""

import pytest

from loadtest.run import run_load

pytestmark = pytest.mark.slow

REQUESTS = 200


def test_a_short_load_run_makes_every_request_and_gets_every_answer_right():
    result = run_load(users=4, requests=REQUESTS, seconds=60)
    assert result.problems == []
    assert result.failure_messages == []
    assert result.exceptions == []
    assert result.failures == 0
    assert result.requests == result.requests_sent == REQUESTS
    assert sum(result.requests_by_name.values()) == REQUESTS
    names = set(result.requests_by_name)
    assert {"valid: single", "valid: batch"} <= names
    assert any(name.startswith("invalid: ") for name in names)
    assert result.ok
