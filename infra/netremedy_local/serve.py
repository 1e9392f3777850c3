"""``make serve``: the whole system of template.yaml on this machine, in the foreground, until Ctrl-C."""

import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from netremedy_local import iam, metering
from netremedy_local.api_gateway import ApiFront
from netremedy_local.emulator import MotoServer, PortInUseError, ensure_port_free
from netremedy_local.http_front import make_server
from netremedy_local.pollers import PollerConfig, PollerPool
from netremedy_local.provision import function_environment, provision
from netremedy_local.runtime import load_handler
from netremedy_local.scheduler import Scheduler
from netremedy_local.template import load_stack_model

log = logging.getLogger("netremedy_local")


@dataclass(frozen=True)
class LocalSettings:
    project_root: Path
    host: str
    port: int
    aws_port: int
    region: str
    stack_name: str
    state_dir: Path
    workers: int
    external_endpoint: str | None
    parameter_overrides: dict[str, str]
    schedule_seconds: float | None
    # Functions whose queue pollers are not started: a worker fleet that is down, for fault testing.
    paused_functions: frozenset[str]
    # Each function signs as its own role and the emulator enforces IAM (LOCAL_IAM=off: everything allowed).
    local_iam: bool

    @classmethod
    def from_environment(cls) -> "LocalSettings":
        root = Path(os.environ.get("NETREMEDY_PROJECT_ROOT", Path(__file__).resolve().parents[2]))
        return cls(
            project_root=root,
            host=os.environ.get("HOST", "127.0.0.1"),
            port=int(os.environ.get("PORT", "8000")),
            aws_port=int(os.environ.get("AWS_PORT", "4566")),
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            stack_name=os.environ.get("STACK_NAME", "netremedy-local"),
            state_dir=Path(os.environ.get("LOCAL_STATE_DIR", root / ".local")),
            workers=int(os.environ.get("LOCAL_WORKERS", str(os.cpu_count() or 2))),
            external_endpoint=os.environ.get("AWS_ENDPOINT_URL") or None,
            parameter_overrides=parse_parameter_overrides(os.environ.get("PARAMETER_OVERRIDES", "")),
            schedule_seconds=float(os.environ["LOCAL_SCHEDULE_SECONDS"])
            if "LOCAL_SCHEDULE_SECONDS" in os.environ
            else None,
            paused_functions=frozenset(filter(None, os.environ.get("LOCAL_PAUSED_FUNCTIONS", "").split(","))),
            local_iam=iam.enforcement_requested(os.environ),
        )


def parse_parameter_overrides(text: str) -> dict[str, str]:
    """``Name=Value Name2=Value2``, the syntax of ``sam deploy --parameter-overrides``."""
    overrides: dict[str, str] = {}
    for pair in text.split():
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise ValueError(f"PARAMETER_OVERRIDES: expected Name=Value, got {pair!r}")
        overrides[name] = value
    return overrides


def _use_local_credentials(region: str, endpoint: str, embedded: bool) -> None:
    """Every boto3 client of this process and its children goes to the emulator over HTTP; on the embedded
    emulator, as its administrator (the stack's own setup, as CloudFormation's) unless a function's role."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ["AWS_REGION"] = region
    if embedded:
        iam.clear_other_credentials(os.environ)
        os.environ.update(iam.administrator_environment())
    else:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(settings: LocalSettings) -> int:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    stack_file = settings.state_dir / "stack.json"
    try:
        ensure_port_free(settings.host, settings.port, "PORT")
        if settings.external_endpoint is None:
            ensure_port_free(settings.host, settings.aws_port, "AWS_PORT")
    except PortInUseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    emulator: MotoServer | None = None
    pollers: PollerPool | None = None
    server = None
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        if settings.external_endpoint is None:
            emulator = MotoServer(settings.host, settings.aws_port, settings.state_dir / "emulator.log")
            emulator.start()
            endpoint = emulator.endpoint
        else:
            endpoint = settings.external_endpoint
        _use_local_credentials(settings.region, endpoint, embedded=emulator is not None)
        metering.install(settings.state_dir)

        model = load_stack_model(
            settings.project_root / "template.yaml", settings.region, settings.stack_name
        )
        unknown = set(settings.parameter_overrides) - set(model.parameters)
        if unknown:
            raise ValueError(
                f"PARAMETER_OVERRIDES names parameters the template does not have: {sorted(unknown)}"
            )
        model.parameters.update(settings.parameter_overrides)
        stack = provision(model, settings.region, settings.stack_name)
        environments = {
            lid: function_environment(stack, spec.environment) for lid, spec in model.functions.items()
        }
        # IAM on an external endpoint (LocalStack) is that emulator's own setting.
        sessions: dict[str, iam.RoleSession] = {}
        if settings.local_iam and emulator is not None:
            sessions = iam.function_sessions(model, stack)
            iam.enforce(endpoint)
            iam.sign_as_invoking_function(sessions)

        # The API and scheduled functions share this process, so they share one environment: it must fit
        # them all.
        in_process = {route.function_id for route in model.routes} | {s.function_id for s in model.schedules}
        api_environment: dict[str, str] = {}
        for function_id in sorted(in_process):
            for name, value in environments[function_id].items():
                if api_environment.setdefault(name, value) != value:
                    raise RuntimeError(f"API functions disagree on environment variable {name}")
        os.environ.update(api_environment)
        front = ApiFront(
            [
                (
                    route,
                    model.functions[route.function_id],
                    load_handler(model.functions[route.function_id].handler),
                )
                for route in model.routes
            ],
            settings.region,
            settings.stack_name,
        )

        poller_configs = [
            PollerConfig(
                function=model.functions[source.function_id],
                environment=environments[source.function_id],
                queue_url=stack.refs[source.queue_id],
                queue_arn=stack.attributes[(source.queue_id, "Arn")],
                batch_size=source.batch_size,
                report_batch_item_failures=source.report_batch_item_failures,
                region=settings.region,
                stack_name=settings.stack_name,
                state_dir=str(settings.state_dir),
                role_environment=iam.poller_environment(sessions, source.function_id),
            )
            for source in model.event_sources
            if source.function_id not in settings.paused_functions
        ]
        pollers = PollerPool(poller_configs, settings.workers)
        pollers.start()
        scheduler = Scheduler(
            [
                (
                    model.functions[schedule.function_id],
                    load_handler(model.functions[schedule.function_id].handler),
                    settings.schedule_seconds or schedule.interval_seconds,
                )
                for schedule in model.schedules
            ],
            settings.region,
            settings.stack_name,
        )

        server = make_server(front, settings.host, settings.port)
        api_url = f"http://{settings.host}:{server.server_address[1]}"
        # Written whole, then renamed: whoever waits for the file never reads half of it.
        partial = stack_file.with_suffix(".json.partial")
        partial.write_text(
            json.dumps(
                {
                    "api_url": api_url,
                    "aws_endpoint": endpoint,
                    "region": settings.region,
                    "resources": stack.refs,
                },
                indent=2,
            )
            + "\n"
        )
        partial.replace(stack_file)
        enforcement = "each function as its own role" if sessions else "IAM not enforced"
        print(
            f"netremedy local stack: API on {api_url} (AWS emulator {endpoint}, {enforcement}; Ctrl-C stops)",
            flush=True,
        )
        threading.Thread(target=server.serve_forever, daemon=True, name="api-front").start()
        while True:
            time.sleep(1)
            scheduler.run_due()  # here, in the main thread, so that a run past its Timeout can be ended
            if emulator is not None and not emulator.alive():
                print("error: the AWS emulator stopped; see its log in the state directory", file=sys.stderr)
                return 1
            if not pollers.alive():
                print("error: a queue poller stopped", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if pollers is not None:
            pollers.stop()
        if emulator is not None:
            emulator.stop()
        stack_file.unlink(missing_ok=True)
    return 0


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    sys.exit(run(LocalSettings.from_environment()))
