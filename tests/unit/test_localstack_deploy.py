"""infra/localstack/deploy.sh, run for real against stand-ins: a LocalStack health endpoint, and samlocal,
uname and python3 on PATH (the python3 records the build, infra/build_lambda_package.py, and runs everything
else with the real interpreter). It builds with that script, no python3.12 needed, and deploys with samlocal
for the host's architecture unless told otherwise, and records the API URL with its stage as LocalStack
serves it."""

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT

API_URL = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1"
BUILD_SCRIPT = "infra/build_lambda_package.py"
# Records its arguments; `list stack-outputs` answers the stack's outputs as the SAM CLI prints them.
FAKE_SAMLOCAL = f"""#!/usr/bin/env bash
echo "samlocal $*" >> "$CALLS_LOG"
if [ "$1 $2" = "list stack-outputs" ]; then
    echo '[{{"OutputKey": "ApiUrl", "OutputValue": "{API_URL}"}}]'
fi
"""
# Records the build (with the path it was run by) and passes every other invocation (the dependency check,
# the script's `- <<EOF` that records the URL) to the real interpreter, a Python 3.11 with the build's packages.
FAKE_PYTHON = f"""#!/bin/sh
if [ "$1" = {BUILD_SCRIPT} ]; then
    echo "$0 $*" >> "$CALLS_LOG"
    exit 0
fi
exec "{sys.executable}" "$@"
"""


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"services": {"lambda": "available"}}'
        self.send_response(200 if self.path == "/_localstack/health" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def localstack() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def _deploy(
    tmp_path: Path, localstack: str, machine: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    # A copy of the script in its own tree: it works from the checkout it sits in and writes .local/ there.
    script = tmp_path / "infra" / "localstack" / "deploy.sh"
    script.parent.mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "infra" / "localstack" / "deploy.sh", script)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _executable(bin_dir / "samlocal", FAKE_SAMLOCAL)
    _executable(bin_dir / "python3", FAKE_PYTHON)
    _executable(bin_dir / "uname", f'#!/bin/sh\n[ "$1" = -m ] && echo {machine} || exec /bin/uname "$@"\n')
    environment = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LOCALSTACK_URL": localstack,
        "CALLS_LOG": str(tmp_path / "calls.log"),
        **settings,
    }
    return subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, timeout=60, env=environment, check=False
    )


def _calls(tmp_path: Path) -> list[list[str]]:
    """The build's and samlocal's invocations, in order, each as its words."""
    log = tmp_path / "calls.log"
    return [line.split() for line in log.read_text().splitlines()] if log.exists() else []


def _built_and_deployed(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """The build's arguments and the deploy's --parameter-overrides, after checking that the build came first,
    samlocal only deployed and read the outputs, and both are for one architecture."""
    calls = _calls(tmp_path)
    assert [call[1] if call[0] == "samlocal" else BUILD_SCRIPT for call in calls] == [
        BUILD_SCRIPT,
        "deploy",
        "list",
    ], calls
    build, deploy = calls[0][1:], calls[1]
    parameters = dict(
        word.split("=", 1) for word in deploy[deploy.index("--parameter-overrides") + 1 :] if "=" in word
    )
    assert build[build.index("--architecture") + 1] == parameters["Architecture"], calls
    return build, parameters


@pytest.mark.parametrize(
    ("machine", "architecture"), [("x86_64", "x86_64"), ("aarch64", "arm64"), ("arm64", "arm64")]
)
def test_the_functions_are_built_and_deployed_for_the_hosts_architecture(
    tmp_path: Path, localstack: str, machine: str, architecture: str
) -> None:
    run = _deploy(tmp_path, localstack, machine)
    assert run.returncode == 0, run.stdout + run.stderr
    build, parameters = _built_and_deployed(tmp_path)
    assert build == [BUILD_SCRIPT, "--template", "template.yaml", "--architecture", architecture]
    assert parameters == {"Architecture": architecture}
    # And the API is recorded at LocalStack's address for the REST API's stage
    recorded = json.loads((tmp_path / ".local" / "localstack.json").read_text())
    port = localstack.rsplit(":", 1)[1]
    assert recorded["api_url"] == f"http://a1b2c3d4e5.execute-api.localhost.localstack.cloud:{port}/v1"
    assert recorded["outputs"] == {"ApiUrl": API_URL}


def test_an_explicit_architecture_wins_over_the_hosts(tmp_path: Path, localstack: str) -> None:
    run = _deploy(tmp_path, localstack, "aarch64", ARCHITECTURE="x86_64", PARAMETER_OVERRIDES="JobTtlDays=1")
    assert run.returncode == 0, run.stderr
    assert _built_and_deployed(tmp_path)[1] == {"Architecture": "x86_64", "JobTtlDays": "1"}


def test_an_architecture_among_the_parameter_overrides_is_kept_as_given_and_built_for(
    tmp_path: Path, localstack: str
) -> None:
    run = _deploy(
        tmp_path,
        localstack,
        "x86_64",
        ARCHITECTURE="x86_64",
        PARAMETER_OVERRIDES="LogLevel=DEBUG Architecture=arm64",
    )
    assert run.returncode == 0, run.stderr
    build, parameters = _built_and_deployed(tmp_path)
    assert parameters == {"LogLevel": "DEBUG", "Architecture": "arm64"}
    assert build[-2:] == ["--architecture", "arm64"]


def test_the_build_runs_with_the_python_and_runtime_python_it_is_given(
    tmp_path: Path, localstack: str
) -> None:
    # Given a PYTHON other than the python3 on PATH (as make localstack-deploy passes .venv-samlocal's)
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    _executable(python, FAKE_PYTHON)
    # When deploying with it and a RUNTIME_PYTHON for the bytecode
    run = _deploy(tmp_path, localstack, "x86_64", PYTHON=str(python), RUNTIME_PYTHON="/opt/py/python3.12")
    # Then that interpreter builds, and the runtime's interpreter is passed on
    assert run.returncode == 0, run.stderr
    build, _ = _built_and_deployed(tmp_path)
    assert _calls(tmp_path)[0][0] == str(python)
    assert build[-2:] == ["--runtime-python", "/opt/py/python3.12"]


def test_a_python_without_the_builds_packages_stops_before_building(tmp_path: Path, localstack: str) -> None:
    python = tmp_path / "python3.11"
    _executable(python, "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'yaml'\" >&2\nexit 1\n")
    run = _deploy(tmp_path, localstack, "x86_64", PYTHON=str(python))
    assert run.returncode == 1 and "lacks pip, PyYAML or aws-sam-translator" in run.stderr, run.stderr
    assert _calls(tmp_path) == []


@pytest.mark.parametrize(
    ("machine", "settings"),
    [
        ("riscv64", {}),
        ("x86_64", {"ARCHITECTURE": "i386"}),
        ("x86_64", {"PARAMETER_OVERRIDES": "Architecture=i386"}),
    ],
)
def test_an_architecture_lambda_does_not_run_stops_before_building(
    tmp_path: Path, localstack: str, machine: str, settings: dict[str, str]
) -> None:
    run = _deploy(tmp_path, localstack, machine, **settings)
    assert run.returncode == 1 and "x86_64 or arm64" in run.stderr
    assert _calls(tmp_path) == []
