"""`make build`'s Lambda package (infra/build_lambda_package.py, run as make runs it): every dependency is a
wheel for the template's runtime and architecture, every handler's module is inside, and the built template
deploys what was built. Built twice: for the template's architecture and for the other one (ARCHITECTURE=)."""

import email
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from importlib.metadata import Distribution, distributions
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags, parse_tag
from packaging.utils import canonicalize_name
from samtranslator.yaml_helper import yaml_parse

from netremedy_local.template import load_stack_model
from tests.conftest import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "template.yaml"
BUILD_SCRIPT = PROJECT_ROOT / "infra" / "build_lambda_package.py"
REQUIREMENTS = PROJECT_ROOT / "functions" / "requirements.txt"
MACHINE = {"arm64": "aarch64", "x86_64": "x86_64"}
# ELF e_machine (bytes 18-19, little-endian) of each architecture: EM_AARCH64, EM_X86_64.
ELF_MACHINE = {"arm64": 183, "x86_64": 62}


def _template() -> dict[str, Any]:
    """template.yaml as SAM CLI reads it (short-form tags as their long forms)."""
    template: dict[str, Any] = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    return template


def _template_architecture() -> str:
    (architecture,) = _template()["Globals"]["Function"]["Architectures"]
    if isinstance(architecture, dict):
        architecture = _template()["Parameters"][architecture["Ref"]]["Default"]
    return str(architecture)


RUNTIME = str(_template()["Globals"]["Function"]["Runtime"])
PYTHON_VERSION = tuple(int(part) for part in RUNTIME.removeprefix("python").split("."))
CACHE_TAG = "cpython-" + "".join(map(str, PYTHON_VERSION))
TEMPLATE_ARCHITECTURE = _template_architecture()
OTHER_ARCHITECTURE = next(name for name in MACHINE if name != TEMPLATE_ARCHITECTURE)


@dataclass(frozen=True)
class Build:
    architecture: str
    build_dir: Path
    output: str

    def package(self, logical_id: str) -> Path:
        return self.build_dir / logical_id

    def built_template(self) -> dict[str, Any]:
        template: dict[str, Any] = yaml_parse((self.build_dir / "template.yaml").read_text(encoding="utf-8"))
        return template


def _pip_index_unreachable() -> str | None:
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple/")
    try:
        with urllib.request.urlopen(urllib.request.Request(index, method="HEAD"), timeout=15):
            return None
    except OSError as error:
        return (
            f"the package index {index} cannot be reached ({error}): the build downloads the target's wheels"
        )


@pytest.fixture(
    scope="module", params=["template", "override"], ids=["template-architecture", "ARCHITECTURE"]
)
def build(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Build:
    unreachable = _pip_index_unreachable()
    if unreachable:
        pytest.skip(unreachable)
    # Given the template, built as `make build` does, or as `ARCHITECTURE=<the other one> make build` does
    override = ["--architecture", OTHER_ARCHITECTURE] if request.param == "override" else []
    build_dir = tmp_path_factory.mktemp("lambda-package") / "build"
    run = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--build-dir", str(build_dir), *override],
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=PROJECT_ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    architecture = OTHER_ARCHITECTURE if override else TEMPLATE_ARCHITECTURE
    return Build(architecture, build_dir, run.stdout + run.stderr)


MODEL = load_stack_model(TEMPLATE, "us-east-1", "build-test")
FUNCTIONS = sorted(MODEL.functions)


def _distributions(package: Path) -> dict[str, Distribution]:
    return {canonicalize_name(dist.metadata["Name"]): dist for dist in distributions(path=[str(package)])}


def _marker_environment(architecture: str) -> dict[str, str]:
    """PEP 508 marker values of the runtime: its Python on Linux on the architecture's machine."""
    version = ".".join(map(str, PYTHON_VERSION))
    return {
        "python_version": version,
        "python_full_version": version + ".0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": MACHINE[architecture],
        "extra": "",
    }


def test_every_requirement_and_what_it_requires_is_installed_and_nothing_else(build: Build) -> None:
    # When the package of a function is read as the runtime's importlib reads it
    installed = _distributions(build.package(FUNCTIONS[0]))
    environment = _marker_environment(build.architecture)
    wanted = [
        Requirement(line)
        for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    # Then every requirement, and everything those require on the runtime's platform, is there in a version
    # it accepts
    needed: set[str] = set()
    while wanted:
        requirement = wanted.pop()
        name = canonicalize_name(requirement.name)
        if requirement.marker is not None and not Marker(str(requirement.marker)).evaluate(environment):
            continue
        assert name in installed, f"{requirement} is not in the package"
        assert requirement.specifier.contains(installed[name].version, prereleases=True), (
            requirement,
            installed[name].version,
        )
        if name not in needed:
            needed.add(name)
            wanted.extend(map(Requirement, installed[name].requires or []))
    # And nothing else: the package holds no distribution of this machine's environment
    assert set(installed) == needed


def _supported_tags(architecture: str) -> set[Tag]:
    """What pip accepts for `--platform manylinux2014_<machine> --python-version 3.12 --implementation cp`."""
    machine = MACHINE[architecture]
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(17, 4, -1)]
    platforms += [f"{legacy}_{machine}" for legacy in ("manylinux2014", "manylinux2010", "manylinux1")]
    version = PYTHON_VERSION[:2]
    return {
        *cpython_tags(
            version, abis=[CACHE_TAG.replace("cpython-", "cp"), "abi3", "none"], platforms=platforms
        ),
        *compatible_tags(version, interpreter="cp" + CACHE_TAG.removeprefix("cpython-"), platforms=platforms),
    }


def test_every_distribution_is_a_wheel_for_the_runtime_and_architecture(build: Build) -> None:
    supported = _supported_tags(build.architecture)
    installed = _distributions(build.package(FUNCTIONS[0]))
    tags: dict[str, set[Tag]] = {}
    for name, dist in installed.items():
        # WHEEL is an email-header file (PEP 427); each Tag is one compressed tag set
        wheel = email.message_from_string(dist.read_text("WHEEL") or "")
        tags[name] = {tag for line in wheel.get_all("Tag", []) for tag in parse_tag(line)}

    # Then each one is a wheel (it has tags) that pip would install on the runtime's platform
    assert all(tags.values()), {name for name, wheel_tags in tags.items() if not wheel_tags}
    assert {name for name, wheel_tags in tags.items() if not wheel_tags & supported} == set()
    # And pydantic_core, the one compiled dependency, is the runtime's own build, not a pure-Python fallback
    assert {tag.platform for tag in tags["pydantic-core"]} <= {
        f"manylinux2014_{MACHINE[build.architecture]}",
        f"manylinux_2_17_{MACHINE[build.architecture]}",
    }
    assert {tag.abi for tag in tags["pydantic-core"]} == {CACHE_TAG.replace("cpython-", "cp")}


def test_compiled_extensions_are_for_the_runtime_and_architecture(build: Build) -> None:
    extensions = sorted(build.package(FUNCTIONS[0]).rglob("*.so"))
    assert any(path.parent.name == "pydantic_core" for path in extensions), extensions
    suffix = f".{CACHE_TAG}-{MACHINE[build.architecture]}-linux-gnu.so"
    for path in extensions:
        # Then its name is what the runtime's import system loads, and its machine code is the architecture's
        assert path.name.endswith((suffix, ".abi3.so")), path
        header = path.read_bytes()[:20]
        assert header[:4] == b"\x7fELF" and header[4] == 2, f"{path} is not a 64-bit ELF file"
        assert int.from_bytes(header[18:20], "little") == ELF_MACHINE[build.architecture], path


def test_every_function_has_its_handlers_module_in_its_own_package(build: Build) -> None:
    built = build.built_template()["Resources"]
    for logical_id in FUNCTIONS:
        module, _, _ = MODEL.functions[logical_id].handler.rpartition(".")
        # Then the built template points the function at its package, where its handler's module is
        assert built[logical_id]["Properties"]["CodeUri"] == logical_id
        assert (build.package(logical_id) / (module.replace(".", "/") + ".py")).is_file(), logical_id
    assert sorted(path.name for path in build.build_dir.iterdir() if path.is_dir()) == FUNCTIONS


def test_bytecode_is_the_runtimes_or_the_build_says_in_one_line_why_there_is_none(build: Build) -> None:
    package = build.package(FUNCTIONS[0])
    cache_tags = {path.name.split(".")[-2] for path in package.rglob("*.pyc")}
    not_compiled = [line for line in build.output.splitlines() if line.startswith("bytecode not compiled")]
    if cache_tags:
        # Then every module of the service has bytecode the runtime imports, and no other version's
        assert cache_tags == {CACHE_TAG}
        for source in (package / "netremedy").rglob("*.py"):
            assert (source.parent / "__pycache__" / f"{source.stem}.{CACHE_TAG}.pyc").is_file(), source
        assert not not_compiled
    else:
        # Then the build says why, once, naming the interpreter it needed
        assert len(not_compiled) == 1, build.output
        assert RUNTIME in not_compiled[0]


def _architectures(template: dict[str, Any]) -> Any:
    """Where the functions' architecture is: the Globals' Architectures, or the parameter they name."""
    architectures = template["Globals"]["Function"]["Architectures"]
    if isinstance(architectures[0], dict):
        return template["Parameters"][architectures[0]["Ref"]]
    return template["Globals"]["Function"]


def test_the_built_template_deploys_the_built_architecture_and_otherwise_is_the_template(
    build: Build,
) -> None:
    source, built = _template(), build.built_template()
    # Then sam deploy gets the architecture the package was built for, and no other
    pinned, declared = _architectures(built), _architectures(source)
    if "Architectures" in pinned:
        assert pinned["Architectures"] == [build.architecture]
        pinned["Architectures"] = declared["Architectures"]
    else:
        assert (pinned.pop("Default"), pinned.pop("AllowedValues")) == (
            build.architecture,
            [build.architecture],
        )
        assert build.architecture in pinned.pop("ConstraintDescription")
        for key in ("Default", "AllowedValues", "ConstraintDescription"):
            declared.pop(key, None)
    # And apart from that pin and where each function's code is, the built template is the template, with the
    # same intrinsics
    for logical_id in FUNCTIONS:
        built_function, source_function = built["Resources"][logical_id], source["Resources"][logical_id]
        assert built_function["Metadata"].pop("SamResourceId") == logical_id
        assert built_function["Properties"].pop("CodeUri") == logical_id
        source_function["Properties"].pop("CodeUri", None)
        if not built_function["Metadata"]:
            del built_function["Metadata"]
    assert built == source
