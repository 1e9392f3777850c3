"""infra/localstack/deploy.sh, run for real against stand-ins: a LocalStack health endpoint, and samlocal,
uname and python3.12 on PATH. It builds and deploys for the host's architecture unless told otherwise, and
records the API URL with its stage as LocalStack serves it."""

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT

API_URL = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1"
# Records its arguments; `list stack-outputs` answers the stack's outputs as the SAM CLI prints them.
FAKE_SAMLOCAL = f"""#!/usr/bin/env bash
echo "$*" >> "$SAMLOCAL_LOG"
if [ "$1 $2" = "list stack-outputs" ]; then
    echo '[{{"OutputKey": "ApiUrl", "OutputValue": "{API_URL}"}}]'
fi
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
    _executable(bin_dir / "python3.12", "#!/bin/sh\nexit 0\n")
    _executable(bin_dir / "uname", f'#!/bin/sh\n[ "$1" = -m ] && echo {machine} || exec /bin/uname "$@"\n')
    environment = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LOCALSTACK_URL": localstack,
        "SAMLOCAL_LOG": str(tmp_path / "samlocal.log"),
        **settings,
    }
    return subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, timeout=60, env=environment, check=False
    )


def _parameter_overrides(tmp_path: Path) -> dict[str, str]:
    """The --parameter-overrides of samlocal build and deploy, which must agree."""
    calls = (tmp_path / "samlocal.log").read_text().splitlines()
    found = {}
    for call in calls:
        words = call.split()
        if words[0] in ("build", "deploy"):
            overrides = words[words.index("--parameter-overrides") + 1 :]
            found[words[0]] = " ".join(word for word in overrides if "=" in word)
    assert set(found) == {"build", "deploy"} and found["build"] == found["deploy"], calls
    return dict(pair.split("=", 1) for pair in found["deploy"].split())


@pytest.mark.parametrize(
    ("machine", "architecture"), [("x86_64", "x86_64"), ("aarch64", "arm64"), ("arm64", "arm64")]
)
def test_the_functions_are_built_and_deployed_for_the_hosts_architecture(
    tmp_path: Path, localstack: str, machine: str, architecture: str
) -> None:
    run = _deploy(tmp_path, localstack, machine)
    assert run.returncode == 0, run.stdout + run.stderr
    assert _parameter_overrides(tmp_path) == {"Architecture": architecture}
    # And the API is recorded at LocalStack's address for the REST API's stage
    recorded = json.loads((tmp_path / ".local" / "localstack.json").read_text())
    port = localstack.rsplit(":", 1)[1]
    assert recorded["api_url"] == f"http://a1b2c3d4e5.execute-api.localhost.localstack.cloud:{port}/v1"
    assert recorded["outputs"] == {"ApiUrl": API_URL}


def test_an_explicit_architecture_wins_over_the_hosts(tmp_path: Path, localstack: str) -> None:
    run = _deploy(tmp_path, localstack, "aarch64", ARCHITECTURE="x86_64", PARAMETER_OVERRIDES="JobTtlDays=1")
    assert run.returncode == 0, run.stderr
    assert _parameter_overrides(tmp_path) == {"Architecture": "x86_64", "JobTtlDays": "1"}


def test_an_architecture_among_the_parameter_overrides_is_kept_as_given(
    tmp_path: Path, localstack: str
) -> None:
    run = _deploy(tmp_path, localstack, "x86_64", PARAMETER_OVERRIDES="LogLevel=DEBUG Architecture=arm64")
    assert run.returncode == 0, run.stderr
    assert _parameter_overrides(tmp_path) == {"LogLevel": "DEBUG", "Architecture": "arm64"}


@pytest.mark.parametrize(("machine", "settings"), [("riscv64", {}), ("x86_64", {"ARCHITECTURE": "i386"})])
def test_an_architecture_lambda_does_not_run_stops_before_building(
    tmp_path: Path, localstack: str, machine: str, settings: dict[str, str]
) -> None:
    run = _deploy(tmp_path, localstack, machine, **settings)
    assert run.returncode == 1 and "x86_64 or arm64" in run.stderr
    assert not (tmp_path / "samlocal.log").exists()
