"""What Lambda gives a handler: the imported entry point, a context object, and an end at its Timeout."""

import importlib
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
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


class InvocationTimeout(BaseException):
    """Raised inside a handler that runs past its function's Timeout. Not an ``Exception``: Lambda ends the
    whole invocation, so a handler's own ``except Exception`` (Powertools' batch processor has one per
    record) must not turn it into a partial success."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the invocation ran past the function's Timeout of {seconds:g} s")


@dataclass
class Invocation:
    timeout: float
    timed_out: bool = False


@contextmanager
def invocation_deadline(timeout: float) -> Iterator[Invocation]:
    """Lambda ends an invocation at the function's Timeout and counts it as failed: the block ends then
    with ``timed_out`` set. In the main thread a timer interrupts the handler (``InvocationTimeout``, not
    propagated past the block); elsewhere, since signals reach the main thread only, an invocation that ran
    over is marked ``timed_out`` when it returns."""
    invocation = Invocation(timeout)
    started = time.monotonic()
    interrupt = threading.current_thread() is threading.main_thread()
    if interrupt:

        def expire(signum: int, frame: FrameType | None) -> None:
            invocation.timed_out = True
            raise InvocationTimeout(timeout)

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        yield invocation
    except InvocationTimeout:
        if not invocation.timed_out:
            raise  # another invocation's, not this one's
    finally:
        if interrupt:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        if time.monotonic() - started > timeout:
            invocation.timed_out = True


# Refusals whose messages name only the principal, the action and the resource, never request data.
_ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


def failure_summary(exc: BaseException) -> str:
    """What an invocation's log says of the error that failed it: the type and AWS's error code, and for an
    access refusal AWS's message (who may not do what on which resource). Never other messages: they may
    quote configuration text."""
    response = getattr(exc, "response", None)
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    code = error.get("Code")
    if not code:
        return type(exc).__name__
    if code in _ACCESS_DENIED:
        return f"{type(exc).__name__} {code}: {error.get('Message', '')}"
    return f"{type(exc).__name__} {code}"
