"""A local stand-in for API Gateway and the Lambda runtime: `python -m local.server`."""
