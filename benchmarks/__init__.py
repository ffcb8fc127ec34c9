"""`make bench` (`python -m benchmarks.run`): cold start, warm latency, throughput, memory, payload
size and cost of the handler, each against a naive baseline measured in the same run."""
