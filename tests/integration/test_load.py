"""A short run of the load test (`make load` runs the long one): concurrent users mixing valid
single and batch requests with invalid ones against the local server, every answer checked."""

import pytest

from loadtest.run import run_load

pytestmark = pytest.mark.slow


def test_a_short_load_run_gets_every_answer_right_with_no_errors():
    result = run_load(users=4, seconds=5)
    assert result.failure_messages == []
    assert result.failures == 0
    names = set(result.requests_by_name)
    assert {"valid: single", "valid: batch"} <= names
    assert any(name.startswith("invalid: ") for name in names)
    assert result.requests == sum(result.requests_by_name.values())
    assert result.ok
