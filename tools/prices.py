"""AWS list prices the tools price things with (us-east-1, on demand, no free tier, as of 2025),
in a module of their own so that a tool can use them without importing the CDK app."""

LAMBDA_GB_SECOND = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
LAMBDA_REQUEST = 0.20 / 1e6
LOGS_INGESTED_GB = 0.50
