"""``netremedy``: argument parsing, the commands, and the exit-code contract.

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
from netremedy_cli.api_client import FROM_FLAG, URL_ENV, ApiClient, locate_api
from netremedy_cli.errors import EXIT_DEVICES_FAILED, EXIT_OK, EXIT_USAGE, ApiError, CliError
from netremedy_cli.inputs import load_submission
from netremedy_cli.options import DEFAULT_OUTPUTS, OUTPUT_NAMES, command_line_options, parse_outputs

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
    connection.add_argument(
        "--url",
        help=f"API base URL (default: ${URL_ENV}, else api_url of "
        ".local/stack.json here, else http://127.0.0.1:8000)",
    )
    connection.add_argument(
        "--sigv4", action="store_true", help="sign requests with SigV4 (automatic for *.amazonaws.com URLs)"
    )
    connection.add_argument(
        "--caller", metavar="NAME", help="act as this caller on the local stack (header x-netremedy-caller)"
    )

    parser = _Parser(prog=PROG, description="Compute network config remediation with the netremedy API.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    submit = commands.add_parser(
        "submit",
        parents=[connection],
        help="create a remediation job",
        description="Create one job from JSON manifests and device directories "
        "(<device_id>/running.conf, intended.conf and optionally platform).",
    )
    submit.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    submit.add_argument(
        "--platform",
        help="platform of directory devices without a platform file, and of --running-dir devices the "
        "inventory does not name, e.g. cisco_ios",
    )
    submit.add_argument(
        "--running-dir",
        type=Path,
        metavar="DIR",
        help="a tree of running configs (e.g. backups/<site>/<host>.cfg), paired with --intended-dir by "
        "relative path (.cfg/.conf/.txt ignored; site1/r1.cfg is the device site1.r1)",
    )
    submit.add_argument(
        "--intended-dir",
        type=Path,
        metavar="DIR",
        help="the tree of intended configs, named as --running-dir",
    )
    submit.add_argument(
        "--inventory",
        type=Path,
        metavar="CSV",
        help="platforms of --running-dir devices: a CSV with device and platform columns",
    )
    submit.add_argument("--wait", action="store_true", help="follow the job to its end, then summarise it")
    submit.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write result files to DIR (implies --wait): <id>.remediation.conf, "
        "<id>.rollback.conf, <id>.diff, <id>.future.conf (the outputs asked for), errors.txt",
    )
    submit.add_argument(
        "--idempotency-key", metavar="KEY", help="retrying with the same key returns the same job"
    )
    submit.add_argument(
        "--allow-empty-intended",
        action="store_true",
        help="accept empty intended configs (their remediation removes everything)",
    )
    computing = submit.add_argument_group(
        "remediation options",
        "Applied to every device of the job. Given here, an option replaces the same "
        'option of a JSON manifest\'s "options".',
    )
    computing.add_argument(
        "--output",
        action="append",
        type=parse_outputs,
        metavar="NAME",
        help=f"what each device result holds: {', '.join(OUTPUT_NAMES)} (repeat the "
        f"option or separate with commas; default: {','.join(DEFAULT_OUTPUTS)}, so that "
        f"'{PROG} diff' works; the API's own default has no diff)",
    )
    computing.add_argument(
        "--tag-rules",
        type=Path,
        metavar="FILE",
        help="hier_config tag rules, a YAML or JSON list of {match_rules: [...], "
        "apply_tags: [...]}, as in hier_config's tag_rules files",
    )
    computing.add_argument(
        "--include-tag",
        action="append",
        metavar="TAG",
        help="keep only remediation lines with this tag (repeatable; tags come from --tag-rules)",
    )
    computing.add_argument(
        "--exclude-tag",
        action="append",
        metavar="TAG",
        help="drop remediation lines with this tag (repeatable)",
    )
    computing.add_argument(
        "--sectional-exiting",
        action="store_true",
        help="close sections with the platform's exit commands (e.g. exit-address-family)",
    )
    submit.set_defaults(run=run_submit)

    status = commands.add_parser("status", parents=[connection], help="show a job's status and counters")
    status.add_argument("job_id", metavar="JOB")
    status.set_defaults(run=run_status)

    results = commands.add_parser("results", parents=[connection], help="show or save a job's results")
    results.add_argument("job_id", metavar="JOB")
    results.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write result files to DIR: <id>.remediation.conf, <id>.rollback.conf, "
        "<id>.diff, <id>.future.conf (those the job asked for), errors.txt",
    )
    results.add_argument(
        "--device", metavar="ID", help="print this device's outputs (remediation, rollback...)"
    )
    results.set_defaults(run=run_results)

    diff = commands.add_parser(
        "diff",
        parents=[connection],
        help="show one device's diff, running -> intended",
        description="hier_config's unified diff of one device, running -> intended: lines only in running in "
        "red (-), only in intended in green (+). The job must have asked for the diff output "
        f"('{PROG} submit' does by default).",
    )
    diff.add_argument("job_id", metavar="JOB")
    diff.add_argument("device_id", metavar="ID")
    diff.set_defaults(run=run_diff)

    report = commands.add_parser(
        "report",
        parents=[connection],
        help="show the changes most devices need",
        description="The remediation lines (with their parents) the job's devices have in common, most "
        "common first: how many devices need each, their share of the devices with changes, and how many "
        "devices the changes so far cover together.",
    )
    report.add_argument("job_id", metavar="JOB")
    report.add_argument(
        "--min-devices", type=_positive, metavar="N", help="only changes at least N devices need (default 1)"
    )
    report.add_argument("--limit", type=_positive, metavar="N", help="at most N changes (API default 100)")
    report.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="instead of the table, save the completed job's self-contained HTML report (the one the service "
        "wrote with its results) to FILE",
    )
    report.set_defaults(run=run_report)
    _add_jobs_command(commands, connection)
    return parser


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be 1 or more")
    return number


def _version() -> str:
    try:
        return version("netremedy")
    except PackageNotFoundError:
        return "unknown"


def _client(args: argparse.Namespace) -> ApiClient:
    location = locate_api(args.url)
    if location.origin != FROM_FLAG:  # say which API a command talks to unless the user just typed it
        print(f"Using API {location.url} ({location.origin})", file=sys.stderr, flush=True)
    return ApiClient(location.url, caller=args.caller, sigv4=args.sigv4, origin=location.origin)


def _paired_directories(args: argparse.Namespace) -> tuple[Path, Path] | None:
    if (args.running_dir is None) != (args.intended_dir is None):
        raise CliError("--running-dir and --intended-dir go together: give both")
    if args.inventory is not None and args.running_dir is None:
        raise CliError("--inventory names the platforms of --running-dir devices: give --running-dir too")
    return None if args.running_dir is None else (args.running_dir, args.intended_dir)


def run_submit(args: argparse.Namespace, out: Console, err: Console) -> int:
    options, tag_rules = command_line_options(args)
    submission = load_submission(
        args.paths,
        args.platform,
        args.allow_empty_intended,
        options,
        tag_rules,
        paired=_paired_directories(args),
        inventory=args.inventory,
    )
    submission.options.setdefault("outputs", list(DEFAULT_OUTPUTS))
    client = _client(args)
    body = submission.body()
    try:
        if client.fits_one_post(body):
            created = client.submit(body, args.idempotency_key)
        else:  # one job whatever the size: the devices go to S3 first (POST /api/v1/batch/uploads)
            created, size = client.submit_by_upload(body, args.idempotency_key)
            print(
                f"Uploaded {len(submission.devices):,} devices as a {size:,}-byte manifest (over one "
                "request's limit): one job, read by the service before it starts",
                file=sys.stderr,
                flush=True,
            )
    except ApiError as exc:  # name the file behind "device_configs[7]": the user never saw that list
        raise CliError(exc.line(submission.describe_field)) from None
    job_id = str(created["job_id"])
    # Labelled for people; the bare id when piped, so that JOB=$(netremedy submit ...) keeps working.
    print(f"Job id: {job_id}" if out.is_terminal else job_id, flush=True)
    if not (args.wait or args.out):
        return EXIT_OK
    try:
        status = output.watch_job(lambda: client.status(job_id), err)
    except KeyboardInterrupt:
        err.print(
            f"{PROG}: stopped waiting; job {job_id} goes on: {PROG} status {job_id}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_INTERRUPTED
    return _report(client.results(job_id), status, args.out, out, err)


def run_status(args: argparse.Namespace, out: Console, err: Console) -> int:
    status = _client(args).status(args.job_id)
    output.render_status(out, status)
    return EXIT_DEVICES_FAILED if status["status"] in ("failed", "cancelled") else EXIT_OK


def run_results(args: argparse.Namespace, out: Console, err: Console) -> int:
    client = _client(args)
    if args.device is None:
        return _report(client.results(args.job_id), None, args.out, out, err)
    result = with_cli_hints(client.device_result(args.job_id, args.device))
    output.render_device(out, result)
    if args.out:
        output.write_result_files(args.out, [result], whole_job=False)
    return EXIT_OK if result["status"] == "success" else EXIT_DEVICES_FAILED


def run_diff(args: argparse.Namespace, out: Console, err: Console) -> int:
    result = with_cli_hints(_client(args).device_result(args.job_id, args.device_id))
    if result["status"] != "success":
        output.render_device(out, result)
        return EXIT_DEVICES_FAILED
    diff = result.get("diff")
    if not isinstance(diff, str):
        raise CliError(
            f"job {args.job_id} has no diff for {args.device_id!r}: it was submitted without the "
            f"diff output; submit again with --output diff (the default of '{PROG} submit')"
        )
    if diff:
        out.print(output.diff_text(diff), soft_wrap=True)
    else:
        err.print(
            f"{PROG}: {args.device_id}: no differences between running and intended",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    return EXIT_OK


def run_report(args: argparse.Namespace, out: Console, err: Console) -> int:
    if args.html is not None:
        return _save_html_report(_client(args), args.job_id, args.html, err)
    flags = {"query.min_devices": "--min-devices", "query.limit": "--limit"}
    try:
        report = _client(args).report(args.job_id, args.min_devices, args.limit)
    except ApiError as exc:
        raise CliError(
            exc.line(lambda field: f"{field} is {flags[field]}" if field in flags else None)
        ) from None
    output.render_report(out, report)
    if report["status"] not in output.TERMINAL_STATUSES:
        err.print(
            f"{PROG}: job {report['job_id']} is {report['status']}: report of the results so far",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    return EXIT_DEVICES_FAILED if report["status"] in ("failed", "cancelled") else EXIT_OK


def _save_html_report(client: ApiClient, job_id: str, path: Path, err: Console) -> int:
    html = client.report_html(job_id)
    try:
        path.write_bytes(html)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}") from None
    err.print(
        f"{PROG}: wrote the HTML report of job {job_id} to {path} ({len(html):,} bytes)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return EXIT_OK


def _report(
    body: JsonObject, status: JsonObject | None, out_dir: Path | None, out: Console, err: Console
) -> int:
    """The results table, the files, and the exit code of a job's results."""
    body = body | {"results": [with_cli_hints(result) for result in body["results"]]}
    output.render_results(out, body)
    if status and status.get("error"):
        err.print(
            f"{PROG}: job {body['job_id']} {status['status']}: {status['error']}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if out_dir is not None:
        written, failed = output.write_result_files(out_dir, body["results"])
        note = f", {failed} failed device(s) in {out_dir / output.ERRORS_FILE}" if failed else ""
        kinds = ", ".join(output.present_outputs(body["results"])) or "the results"
        out.print(
            f"wrote {kinds} of {written} device(s) to {out_dir}{note}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    summary = body["summary"]
    if body["status"] not in output.TERMINAL_STATUSES:
        finished = summary["completed_devices"] + summary["failed_devices"]
        err.print(
            f"{PROG}: job {body['job_id']} is {body['status']}: results so far ({finished} of "
            f"{summary['total_devices']})",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
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


JOB_STATUSES = ("pending", "running", "completed", "failed", "cancelled")
JOBS_DEFAULT = 25
JOBS_PAGE_MAX = 100  # the API's largest page


def _add_jobs_command(commands: Any, connection: argparse.ArgumentParser) -> None:
    jobs = commands.add_parser(
        "jobs",
        parents=[connection],
        help="list your jobs, newest first",
        description="Your jobs, newest first: id, status, devices (completed, failed), when each was created "
        "and finished, and how it was started.",
    )
    jobs.add_argument("--status", choices=JOB_STATUSES, help="only jobs in this status")
    count = jobs.add_mutually_exclusive_group()
    count.add_argument(
        "--limit", type=_positive, metavar="N", help=f"at most N jobs (default {JOBS_DEFAULT})"
    )
    count.add_argument("--all", action="store_true", help="every job, following the API's pages")
    jobs.add_argument(
        "--drops", action="store_true", help="the jobs S3 drops started (the account's) instead of yours"
    )
    jobs.set_defaults(run=run_jobs)


def run_jobs(args: argparse.Namespace, out: Console, err: Console) -> int:
    client = _client(args)
    wanted = None if args.all else args.limit or JOBS_DEFAULT
    jobs: list[JsonObject] = []
    token: str | None = None
    seen: set[str] = set()
    while True:
        size = JOBS_PAGE_MAX if wanted is None else min(wanted - len(jobs), JOBS_PAGE_MAX)
        page = client.jobs_page(
            status=args.status, owner="account" if args.drops else None, limit=size, next_token=token
        )
        jobs += page["jobs"]
        token = page.get("next_token")
        if not token or (wanted is not None and len(jobs) >= wanted):
            break
        if token in seen:  # a server answering the same token again would keep us here forever
            raise CliError(f"the API repeated the job listing's page token {token!r}")
        seen.add(token)
    output.render_jobs(out, jobs, more=token is not None)
    return EXIT_OK


# Server messages name the request's fields; a CLI user sets the command's flags instead.
_FLAG_HINTS = {"set allow_empty_intended to true": "pass --allow-empty-intended"}


def with_cli_hints(result: JsonObject) -> JsonObject:
    """The device result with the server's advice spelled as the CLI's flags."""
    error = result.get("error")
    if not isinstance(error, str):
        return result
    for field_hint, flag_hint in _FLAG_HINTS.items():
        error = error.replace(field_hint, flag_hint)
    return result | {"error": error}
