"""EventBridge schedules, locally: each scheduled function runs every ``interval`` seconds in a thread."""

import logging
import threading

from netremedy_local.runtime import Handler, LocalLambdaContext
from netremedy_local.template import FunctionSpec

log = logging.getLogger("netremedy_local.scheduler")


class Scheduler:
    def __init__(self, jobs: list[tuple[FunctionSpec, Handler, float]], region: str, stack_name: str) -> None:
        self._jobs = jobs
        self._region = region
        self._stack_name = stack_name
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _loop(self, function: FunctionSpec, handler: Handler, interval: float) -> None:
        while not self._stop.wait(interval):
            event = {"version": "0", "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
            try:
                handler(event, LocalLambdaContext(function, self._region, self._stack_name))
            except Exception as exc:  # a failed run is retried at the next tick, as EventBridge would  # noqa: BLE001
                log.warning("%s failed: %s", function.logical_id, type(exc).__name__)

    def start(self) -> None:
        for function, handler, interval in self._jobs:
            thread = threading.Thread(
                target=self._loop,
                args=(function, handler, interval),
                daemon=True,
                name=f"schedule-{function.logical_id}",
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
