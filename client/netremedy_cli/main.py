"""``netremedy``: argument parsing, the three commands, and the exit-code contract.

Exit codes: 0 every device succeeded (``status``: the job has not failed), 1 some devices failed or the job
failed or was cancelled, 2 usage or connection errors, always reported as one ``netremedy: error:`` line.
"""

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console

from netremedy_cli import output
from netremedy_cli.api_client import URL_ENV, ApiClient, resolve_url
from netremedy_cli.errors import EXIT_DEVICES_FAILED, EXIT_OK, EXIT_USAGE, ApiError, CliError
from netremedy_cli.inputs import load_submission

PROG = "netremedy"
EXIT_INTERRUPTED = 130  # the shell's convention for SIGINT and SIGPIPE deaths
EXIT_BROKEN_PIPE = 141
JsonObject = dict[str, Any]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other error (argparse prints the usage too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    connection = _Parser(add_help=False)
    connection.add_argument("--url", help=f"API base URL (default: ${URL_ENV}, else api_url of "
                            ".local/stack.json here, else http://127.0.0.1:8000)")
    connection.add_argument("--sigv4", action="store_true",
                            help="sign requests with SigV4 (automatic for *.amazonaws.com URLs)")
    connection.add_argument("--caller", metavar="NAME",
                            help="act as this caller on the local stack (header x-netremedy-caller)")

    parser = _Parser(prog=PROG, description="Compute network config remediation with the netremedy API.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    submit = commands.add_parser("submit", parents=[connection], help="create a remediation job",
                                 description="Create one job from JSON manifests and device directories "
                                 "(<device_id>/running.conf, intended.conf and optionally platform).")
    submit.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    submit.add_argument("--platform",
                        help="platform of directory devices without a platform file, e.g. cisco_ios")
    submit.add_argument("--wait", action="store_true", help="follow the job to its end, then summarise it")
    submit.add_argument("--out", type=Path, metavar="DIR", help="write result files to DIR (implies --wait)")
    submit.add_argument("--idempotency-key", metavar="KEY",
                        help="retrying with the same key returns the same job")
    submit.add_argument("--allow-empty-intended", action="store_true",
                        help="accept empty intended configs (their remediation removes everything)")
    submit.set_defaults(run=run_submit)

    status = commands.add_parser("status", parents=[connection], help="show a job's status and counters")
    status.add_argument("job_id", metavar="JOB")
    status.set_defaults(run=run_status)

    results = commands.add_parser("results", parents=[connection], help="show or save a job's results")
    results.add_argument("job_id", metavar="JOB")
    results.add_argument("--out", type=Path, metavar="DIR", help="write result files to DIR")
    results.add_argument("--device", metavar="ID", help="print this device's remediation and rollback")
    results.set_defaults(run=run_results)
    return parser


def _version() -> str:
    try:
        return version("netremedy")
    except PackageNotFoundError:
        return "unknown"


def _client(args: argparse.Namespace) -> ApiClient:
    return ApiClient(resolve_url(args.url), caller=args.caller, sigv4=args.sigv4)


def run_submit(args: argparse.Namespace, out: Console, err: Console) -> int:
    submission = load_submission(args.paths, args.platform, args.allow_empty_intended)
    client = _client(args)
    try:
        created = client.submit(submission.body(), args.idempotency_key)
    except ApiError as exc:  # name the file behind "device_configs[7]": the user never saw that list
        raise CliError(exc.line(submission.describe_field)) from None
    job_id = str(created["job_id"])
    print(job_id, flush=True)
    if not (args.wait or args.out):
        return EXIT_OK
    try:
        status = output.watch_job(lambda: client.status(job_id), err)
    except KeyboardInterrupt:
        err.print(f"{PROG}: stopped waiting; job {job_id} goes on: {PROG} status {job_id}", markup=False,
                  highlight=False, soft_wrap=True)
        return EXIT_INTERRUPTED
    return _report(client.results(job_id), status, args.out, out, err)


def run_status(args: argparse.Namespace, out: Console, err: Console) -> int:
    status = _client(args).status(args.job_id)
    output.render_status(out, status)
    return EXIT_DEVICES_FAILED if status["status"] in ("failed", "cancelled") else EXIT_OK


def run_results(args: argparse.Namespace, out: Console, err: Console) -> int:
    body = _client(args).results(args.job_id)
    if args.device is None:
        return _report(body, None, args.out, out, err)
    matches = [result for result in body["results"] if result["device_id"] == args.device]
    if not matches:
        pending = body["status"] not in output.TERMINAL_STATUSES
        raise CliError(f"device {args.device!r} {'has no result yet' if pending else 'is not'} in job "
                       f"{args.job_id}")
    output.render_device(out, matches[0])
    if args.out:
        output.write_result_files(args.out, matches, whole_job=False)
    return EXIT_OK if matches[0]["status"] == "success" else EXIT_DEVICES_FAILED


def _report(body: JsonObject, status: JsonObject | None, out_dir: Path | None, out: Console,
            err: Console) -> int:
    """The results table, the files, and the exit code of a job's results."""
    output.render_results(out, body)
    if status and status.get("error"):
        err.print(f"{PROG}: job {body['job_id']} {status['status']}: {status['error']}", markup=False,
                  highlight=False, soft_wrap=True)
    if out_dir is not None:
        written, failed = output.write_result_files(out_dir, body["results"])
        note = f", {failed} failed device(s) in {out_dir / output.ERRORS_FILE}" if failed else ""
        out.print(f"wrote remediation and rollback of {written} device(s) to {out_dir}{note}", markup=False,
                  highlight=False, soft_wrap=True)
    summary = body["summary"]
    if body["status"] not in output.TERMINAL_STATUSES:
        finished = summary["completed_devices"] + summary["failed_devices"]
        err.print(f"{PROG}: job {body['job_id']} is {body['status']}: results so far ({finished} of "
                  f"{summary['total_devices']})", markup=False, highlight=False, soft_wrap=True)
        return EXIT_DEVICES_FAILED
    if body["status"] != "completed" or summary["failed_devices"]:
        return EXIT_DEVICES_FAILED
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out, err = Console(), Console(stderr=True)
    try:
        code: int = args.run(args, out, err)
    except CliError as exc:
        print(f"{PROG}: error: {exc.line()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `netremedy results JOB | head`: the reader left, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code
