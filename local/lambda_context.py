"""The Lambda context object a handler receives, for invoking it outside Lambda (server, tests)."""

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LocalLambdaContext:
    """The attributes of awslambdaric's LambdaContext that the handler and Powertools read."""

    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_name: str = "transaction-classifier-local"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 2048
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:transaction-classifier-local"
    log_group_name: str = "/aws/lambda/transaction-classifier-local"
    log_stream_name: str = "local"
