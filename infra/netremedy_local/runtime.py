"""What Lambda gives a handler: the imported entry point and a context object."""

import importlib
import time
import uuid
from collections.abc import Callable
from typing import Any

from netremedy_local.template import LOCAL_ACCOUNT_ID, FunctionSpec

Handler = Callable[[dict[str, Any], Any], Any]


def load_handler(handler: str) -> Handler:
    """Import ``package.module.function`` exactly as the Lambda Python runtime does."""
    module_name, _, function_name = handler.rpartition(".")
    function: Handler = getattr(importlib.import_module(module_name), function_name)
    return function


class LocalLambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, spec: FunctionSpec, region: str, stack_name: str) -> None:
        self.function_name = f"{stack_name}-{spec.logical_id}"
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"
        )
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
