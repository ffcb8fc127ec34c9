"""The bounded load test of the local server (`make load`): loadtest/run.py runs loadtest/locustfile.py."""
