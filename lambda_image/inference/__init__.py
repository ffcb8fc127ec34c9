"""The inference runtime of the Lambda image: handler.lambda_handler is the entry point."""
