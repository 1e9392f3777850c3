"""The benchmark's side virtualenvs, created on first use like the Makefile's (.venv-sam, .venv-checkov).

- ``.venv-peer``: hier-config-api 0.1.0 (the hier_config REST API, FastAPI), pinned to the same hier_config
  3.7.1 the service runs, so the peer computes with the same engine;
- ``.venv-hc4``: the newest hier_config 4 pre-release, for ``bench/hc4_compare.py``.

Each venv keeps a stamp file holding the requirement list it was built from; a changed list rebuilds it. A
``.gitignore`` of ``*`` inside each keeps it out of git without touching the repository's own.
"""

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PEER_VENV = ROOT / ".venv-peer"
PEER_REQUIREMENTS = ["hier-config-api==0.1.0", "hier-config==3.7.1"]

HC4_VENV = ROOT / ".venv-hc4"
HC4_REQUIREMENTS = ["--pre", "hier-config>=4.0.0b0,<5"]

_STAMP = ".installed"


def python_of(env: Path) -> Path:
    return env / "bin" / "python"


def ensure(env: Path, requirements: list[str], *, quiet: bool = False) -> Path:
    """Create ``env`` and install ``requirements`` unless its stamp says they are there; its python."""
    stamp = env / _STAMP
    wanted = "\n".join(requirements) + "\n"
    if stamp.exists() and stamp.read_text() == wanted and python_of(env).exists():
        return python_of(env)
    if not quiet:
        print(
            f"installing {' '.join(r for r in requirements if not r.startswith('-'))} into {env.name}/ "
            "(first use only)",
            file=sys.stderr,
            flush=True,
        )
    venv.EnvBuilder(with_pip=True, clear=True).create(env)
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
