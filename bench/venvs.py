"""The benchmark's side virtualenvs, created on first use like the Makefile's (.venv-sam, .venv-checkov).

- ``.venv-peer``: hier-config-api 0.1.0 (the hier_config REST API, FastAPI), pinned to the same hier_config
  3.7.1 the service runs, so the peer computes with the same engine;
- ``.venv-hc4``: the newest hier_config 4 pre-release, for ``bench/hc4_compare.py``;
- ``.venv-lambda``: the worker's runtime dependencies, at the versions ``.venv`` has, on the Python version
  the template's functions run (``Runtime``), when such an interpreter is on this machine: the cold start
  measured on Lambda's Python as well as on the project's.

Each venv keeps a stamp file holding the requirement list it was built from; a changed list rebuilds it. A
``.gitignore`` of ``*`` inside each keeps it out of git without touching the repository's own.
"""

import importlib.metadata
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PEER_VENV = ROOT / ".venv-peer"
PEER_REQUIREMENTS = ["hier-config-api==0.1.0", "hier-config==3.7.1"]

HC4_VENV = ROOT / ".venv-hc4"
HC4_REQUIREMENTS = ["--pre", "hier-config>=4.0.0b0,<5"]

LAMBDA_VENV = ROOT / ".venv-lambda"
LAMBDA_DISTRIBUTIONS = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "urllib3",
    "python-dateutil",
    "aws-lambda-powertools",
    "pydantic",
    "pydantic-core",
    "typing-extensions",
    "hier-config",
)

_STAMP = ".installed"


def lambda_runtime() -> str:
    """The functions' ``Runtime`` in template.yaml (its Globals), e.g. ``python3.12``."""
    found = re.search(
        r"^\s+Runtime:\s*(python3\.\d+)\s*$", (ROOT / "template.yaml").read_text(), re.MULTILINE
    )
    if found is None:
        raise RuntimeError("template.yaml names no python3.x Runtime")
    return found.group(1)


def lambda_interpreter() -> Path | None:
    """An interpreter of the template's runtime version (on PATH, else a pyenv one), as the path of the real
    executable (a pyenv shim may name a version that is not installed); None if there is none."""
    name = lambda_runtime()
    version = name.removeprefix("python")
    candidates = [found] if (found := shutil.which(name)) else []
    candidates += [str(path) for path in sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/{name}"))]
    for candidate in candidates:
        done = subprocess.run(
            [candidate, "-c", "import sys; print(sys.executable)"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip():
            return Path(done.stdout.strip())
    return None


def lambda_requirements() -> list[str]:
    """The worker's runtime dependencies pinned to the versions this (the project's) venv has."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in LAMBDA_DISTRIBUTIONS]


def python_of(env: Path) -> Path:
    return env / "bin" / "python"


def ensure(
    env: Path, requirements: list[str], *, quiet: bool = False, interpreter: Path | None = None
) -> Path:
    """Create ``env`` (with ``interpreter``, else this one) and install ``requirements`` unless its stamp says
    they are there; its python."""
    stamp = env / _STAMP
    wanted = "\n".join([f"# {interpreter}", *requirements] if interpreter else requirements) + "\n"
    if stamp.exists() and stamp.read_text() == wanted and python_of(env).exists():
        return python_of(env)
    if not quiet:
        print(
            f"installing {' '.join(r for r in requirements if not r.startswith('-'))} into {env.name}/ "
            "(first use only)",
            file=sys.stderr,
            flush=True,
        )
    if interpreter is None:
        venv.EnvBuilder(with_pip=True, clear=True).create(env)
    else:
        subprocess.run([str(interpreter), "-m", "venv", "--clear", str(env)], check=True)
    (env / ".gitignore").write_text("*\n")
    done = subprocess.run(
        [
            str(python_of(env)),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *requirements,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pip install into {env.name}/ failed:\n{(done.stdout + done.stderr)[-3000:]}")
    stamp.write_text(wanted)
    return python_of(env)


def installed_version(env: Path, distribution: str) -> str:
    return subprocess.run(
        [str(python_of(env)), "-c", f"import importlib.metadata as m; print(m.version({distribution!r}))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


if __name__ == "__main__":
    for target, requirements in ((PEER_VENV, PEER_REQUIREMENTS), (HC4_VENV, HC4_REQUIREMENTS)):
        print(ensure(target, requirements))
