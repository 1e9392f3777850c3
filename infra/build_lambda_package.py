"""`make build`: the Lambda package of every function in template.yaml, for the template's runtime and
architecture, without that runtime's interpreter on this machine.

`sam build` refuses to build a python3.12 function unless a python3.12 is on PATH (or Docker is there for
--use-container). AWS documents how to build a Python package for Lambda on another OS or Python: pip
installs the target's wheels (--platform manylinux2014_<machine> --implementation cp --python-version 3.12
--only-binary=:all: --target <dir>), then the function code is copied beside them. That is what this does,
into the layout `sam build` writes: .aws-sam/build/<LogicalId>/ per function and .aws-sam/build/template.yaml
with each CodeUri pointing there, the file `sam deploy` (make deploy) reads first. Bytecode is compiled by
the runtime's interpreter when one can be run here, as Lambda's code directory is read-only.

Run with the project venv's Python (it needs pip, PyYAML and aws-sam-translator):
    .venv/bin/python infra/build_lambda_package.py [--architecture x86_64] [--runtime-python python3.12]
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from samtranslator.yaml_helper import yaml_parse

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SERVERLESS_FUNCTION = "AWS::Serverless::Function"
# Lambda's own default when a function names no architecture.
DEFAULT_ARCHITECTURE = "x86_64"
MACHINE_OF_ARCHITECTURE = {"arm64": "aarch64", "x86_64": "x86_64"}
# Lambda's quota for a function's code, unzipped (250 MB).
MAX_UNZIPPED_BYTES = 262_144_000
# What sam build's Python workflow (aws-lambda-builders' PythonPipWorkflow) leaves out of the copied code.
EXCLUDED_FROM_CODE = (
    *(".aws-sam", ".chalice", ".git", ".gitignore", "*.pyc", "__pycache__", "*.so", ".Python"),
    *("*.egg-info", "*.egg", "pip-log.txt", "pip-delete-this-directory.txt", "htmlcov", ".tox", ".nox"),
    *(".coverage", ".cache", ".pytest_cache", ".python-version", ".mypy_cache", ".dmypy.json", ".pyre"),
    *(".env", ".venv", "venv", "venv.bak", "env.bak", "ENV", "env", ".vscode", ".idea", ".ruff_cache"),
)


class BuildError(Exception):
    """The template asks for something this build cannot produce; the message says what."""


@dataclass(frozen=True)
class Target:
    """What one package is built from and for; functions with the same target share one build."""

    code_dir: Path
    runtime: str
    architecture: str

    def __post_init__(self) -> None:
        if re.fullmatch(r"python3\.\d+", self.runtime) is None:
            raise BuildError(f"runtime {self.runtime!r} is not a Python runtime (python3.N)")

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")

    @property
    def cache_tag(self) -> str:
        """The __pycache__ tag the runtime's CPython imports (cpython-312); it ignores any other."""
        return "cpython-" + self.python_version.replace(".", "")

    @property
    def pip_platform(self) -> str:
        # manylinux2014 (glibc 2.17) wheels run on every Lambda Python runtime (Amazon Linux 2 and 2023).
        return f"manylinux2014_{MACHINE_OF_ARCHITECTURE[self.architecture]}"


def load_template(path: Path) -> dict[str, Any]:
    """The template as SAM CLI reads it: short-form tags (!Ref, !GetAtt, ...) as their long forms."""
    template: dict[str, Any] = yaml_parse(path.read_text(encoding="utf-8"))
    return template


class _TemplateDumper(yaml.SafeDumper):
    """Writes strings that start with 0 quoted, as SAM CLI does, so that an account id stays a string."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="'" if value.startswith("0") else None
    )


_TemplateDumper.add_representer(str, _represent_str)


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each AWS::Serverless::Function's Properties (created when missing), by logical id."""
    return {
        logical_id: resource.setdefault("Properties", {})
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == SERVERLESS_FUNCTION
    }


def _architecture(value: Any, parameters: dict[str, Any]) -> tuple[str, str | None]:
    """The architecture of an Architectures list, and the parameter it comes from, if any."""
    if not isinstance(value, list) or len(value) != 1:
        raise BuildError(f"Architectures must list one architecture, not {value!r}")
    (item,) = value
    parameter = None
    if isinstance(item, dict) and set(item) == {"Ref"} and item["Ref"] in parameters:
        parameter = item["Ref"]
        item = parameters[parameter].get("Default")
    if item not in MACHINE_OF_ARCHITECTURE:
        raise BuildError(f"Architectures {value!r}: expected one of {sorted(MACHINE_OF_ARCHITECTURE)}")
    return item, parameter


def pin_architectures(template: dict[str, Any], override: str | None) -> dict[str, str]:
    """Each function's architecture (override, else what the template says), written into the template so
    that the deployed functions run on the architecture their package is built for: a package of aarch64
    extensions (pydantic_core) fails at import on x86_64. An Architecture parameter keeps only that value."""
    parameters: dict[str, Any] = template.get("Parameters", {})
    function_globals: dict[str, Any] = template.get("Globals", {}).get("Function", {})
    architectures: dict[str, str] = {}
    for logical_id, properties in _functions(template).items():
        # Where the function's Architectures come from: its own, else the Globals'.
        inherited = "Architectures" not in properties and "Architectures" in function_globals
        holder = function_globals if inherited else properties
        declared, parameter = _architecture(holder.get("Architectures", [DEFAULT_ARCHITECTURE]), parameters)
        architecture = override or declared
        if parameter is None:
            holder["Architectures"] = [architecture]
        else:
            parameters[parameter].update(
                Default=architecture,
                AllowedValues=[architecture],
                ConstraintDescription=(
                    f"the package in this build is for {architecture}; for another architecture build again "
                    "with ARCHITECTURE=<arm64|x86_64> make build"
                ),
            )
        architectures[logical_id] = architecture
    return architectures


def resolve_targets(
    template: dict[str, Any], template_dir: Path, architectures: dict[str, str]
) -> dict[str, Target]:
    """Each function's build target: its code directory, runtime and architecture."""
    function_globals: dict[str, Any] = template.get("Globals", {}).get("Function", {})
    targets: dict[str, Target] = {}
    for logical_id, properties in _functions(template).items():
        if properties.get("PackageType", "Zip") != "Zip":
            raise BuildError(
                f"{logical_id}: only Zip functions are built here, not {properties['PackageType']}"
            )
        code_uri = properties.get("CodeUri", function_globals.get("CodeUri"))
        if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
            raise BuildError(f"{logical_id}: CodeUri {code_uri!r} is not a local directory")
        runtime = properties.get("Runtime", function_globals.get("Runtime"))
        if not isinstance(runtime, str):
            raise BuildError(f"{logical_id}: Runtime {runtime!r} is not a runtime name")
        target = Target((template_dir / code_uri).resolve(), runtime, architectures[logical_id])
        if not target.code_dir.is_dir():
            raise BuildError(f"{logical_id}: CodeUri {code_uri!r} is not a directory")
        targets[logical_id] = target
    return targets


def install_package(target: Target, package_dir: Path) -> None:
    """The requirements' wheels for the target, then the function code, into package_dir."""
    requirements = target.code_dir / "requirements.txt"
    if requirements.is_file():
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
                *("--platform", target.pip_platform, "--implementation", "cp"),
                *("--python-version", target.python_version, "--only-binary=:all:"),
                # pip would compile with this interpreter, whose bytecode the runtime ignores; its conflict
                # check compares with this venv's packages, which the package does not contain.
                *("--no-compile", "--no-warn-conflicts"),
                *("--target", str(package_dir), "--requirement", str(requirements)),
            ],
            check=True,
        )
    shutil.copytree(
        target.code_dir, package_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*EXCLUDED_FROM_CODE)
    )


def _why_not_runnable(runtime_python: str, target: Target) -> str | None:
    """None when runtime_python is the runtime's CPython (its cache tag); else why it cannot compile."""
    try:
        run = subprocess.run(
            [runtime_python, "-c", "import sys; print(sys.implementation.cache_tag)"],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except OSError as error:
        return f"{runtime_python} cannot be run ({error.strerror})"
    if run.returncode != 0:
        first_line = next((line for line in run.stderr.splitlines() if line.strip()), "no message")
        return f"{runtime_python} exits with status {run.returncode} ({first_line.strip()})"
    if run.stdout.strip() != target.cache_tag:
        return f"{runtime_python} is {run.stdout.strip()}, not {target.cache_tag}"
    return None


def compile_bytecode(package_dir: Path, target: Target, runtime_python: str) -> None:
    """Compiles the package with runtime_python if it is the runtime's interpreter; else says why not."""
    problem = _why_not_runnable(runtime_python, target)
    if problem is not None:
        print(
            f"bytecode not compiled: {problem}, and .pyc files are specific to the interpreter version "
            f"({sys.implementation.cache_tag}'s would be ignored by {target.runtime}), so Lambda compiles "
            f"the sources at every cold start; set RUNTIME_PYTHON to a {target.runtime} to ship bytecode",
            file=sys.stderr,
        )
        return
    # unchecked-hash keeps the .pyc valid whatever timestamps the deployment zip gives the sources.
    subprocess.run(
        [
            *(runtime_python, "-m", "compileall", "-q", "-j", "0"),
            *("--invalidation-mode", "unchecked-hash", str(package_dir)),
        ],
        check=True,
    )


def _link_or_copy(source: str, destination: str) -> None:
    """A hard link (no copy, no space) where the file system has them."""
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def _size_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def write_built_template(template: dict[str, Any], build_dir: Path) -> Path:
    """template.yaml as sam build writes it: each function's CodeUri is its directory beside the file."""
    for logical_id, properties in _functions(template).items():
        properties["CodeUri"] = logical_id
        template["Resources"][logical_id].setdefault("Metadata", {})["SamResourceId"] = logical_id
    path = build_dir / "template.yaml"
    path.write_text(yaml.dump(template, Dumper=_TemplateDumper, sort_keys=False), encoding="utf-8")
    return path


def build(
    template_path: Path, build_dir: Path, architecture: str | None, runtime_python: str | None
) -> dict[str, Target]:
    """Builds every function of template_path into build_dir (emptied first); answers each one's target."""
    template_path = template_path.resolve()
    build_dir = build_dir.resolve()
    if template_path.parent.is_relative_to(build_dir):
        raise BuildError(f"{build_dir} holds the template itself: choose a build directory of its own")
    built = load_template(template_path)
    targets = resolve_targets(built, template_path.parent, pin_architectures(built, architecture))
    if not targets:
        raise BuildError(f"{template_path} declares no {SERVERLESS_FUNCTION}")
    if build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)

    functions_of: dict[Target, list[str]] = defaultdict(list)
    for logical_id, target in targets.items():
        functions_of[target].append(logical_id)
    for target, logical_ids in functions_of.items():
        first, *others = logical_ids
        package_dir = build_dir / first
        print(
            f"building {len(logical_ids)} function(s) for {target.runtime} {target.architecture} "
            f"({target.pip_platform}) from {target.code_dir}",
            flush=True,  # before pip's and compileall's own output
        )
        install_package(target, package_dir)
        compile_bytecode(package_dir, target, runtime_python or target.runtime)
        size = _size_bytes(package_dir)
        if size > MAX_UNZIPPED_BYTES:
            raise BuildError(f"{package_dir} holds {size:,} bytes, over Lambda's {MAX_UNZIPPED_BYTES:,}")
        for logical_id in others:
            shutil.copytree(package_dir, build_dir / logical_id, copy_function=_link_or_copy)
        print(f"  {size / 1e6:.1f} MB unzipped per function: {', '.join(logical_ids)}", flush=True)
    print(f"built template: {write_built_template(built, build_dir)}")
    return targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--template", type=Path, default=PROJECT_ROOT / "template.yaml")
    parser.add_argument("--build-dir", type=Path, default=PROJECT_ROOT / ".aws-sam" / "build")
    parser.add_argument(
        "--architecture",
        choices=sorted(MACHINE_OF_ARCHITECTURE),
        help="build for this architecture instead of the template's (the built template deploys it)",
    )
    parser.add_argument(
        "--runtime-python",
        help="the interpreter that compiles the bytecode (default: the runtime's name, e.g. python3.12)",
    )
    args = parser.parse_args()
    try:
        build(args.template, args.build_dir, args.architecture, args.runtime_python)
    except BuildError as error:
        sys.exit(f"error: {error}")
    except subprocess.CalledProcessError as error:
        sys.exit(f"error: {shlex.join(map(str, error.cmd))} exited with status {error.returncode}")


if __name__ == "__main__":
    main()
