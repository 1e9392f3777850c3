"""EventBridge schedules, locally: each scheduled function runs every ``interval`` seconds, ended at its
Timeout as Lambda ends it. Runs happen in the thread that calls ``run_due`` (the local stack's main thread),
because only the main thread can be interrupted by the timer."""

import logging
import time

from netremedy_local import iam
from netremedy_local.runtime import Handler, LocalLambdaContext, failure_summary, invocation_deadline
from netremedy_local.template import FunctionSpec

log = logging.getLogger("netremedy_local.scheduler")


class Scheduler:
    def __init__(self, jobs: list[tuple[FunctionSpec, Handler, float]], region: str, stack_name: str) -> None:
        self._jobs = jobs
        self._region = region
        self._stack_name = stack_name
        started = time.monotonic()
        self._due = [started + interval for _, _, interval in jobs]

    def run_due(self) -> None:
        """Run every function whose time has come; the next run is ``interval`` after this one ends."""
        for index, (function, handler, interval) in enumerate(self._jobs):
            if time.monotonic() < self._due[index]:
                continue
            event = {"version": "0", "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
            try:
                with iam.invoking(function.logical_id), invocation_deadline(function.timeout) as invocation:
                    handler(event, LocalLambdaContext(function, self._region, self._stack_name))
            except Exception as exc:  # noqa: BLE001 - a failed run waits for the next tick, as on EventBridge
                log.warning("%s failed: %s", function.logical_id, failure_summary(exc))
            if invocation.timed_out:
                log.warning("%s timed out after %d s", function.logical_id, function.timeout)
            self._due[index] = time.monotonic() + interval
