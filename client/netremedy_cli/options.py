"""The job's remediation ``options`` from the command line: outputs, tag rules (a hier_config tag_rules file)
and tag filters.

Only what the client can check well is checked here (a readable file, the list shape, data JSON can carry);
the rules themselves are validated by the API, whose answer names the field (``options.tag_rules[2]...``),
which ``TagRules.describe`` maps back to the file.
"""

import argparse
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netremedy_cli.errors import CliError

OUTPUT_NAMES = ("remediation", "rollback", "diff", "future")
# The API's default is remediation and rollback; the CLI also asks for the diff so that `netremedy diff`
# works on every job it submitted.
DEFAULT_OUTPUTS = ("remediation", "rollback", "diff")
JsonObject = dict[str, Any]
_RULE_SHAPE = "({match_rules: [...], apply_tags: [...]})"


def parse_outputs(value: str) -> list[str]:
    """argparse ``type`` of ``--output``: one name or a comma-separated list of them."""
    names = [name.strip() for name in value.split(",")]
    unknown = [name for name in names if name not in OUTPUT_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown output {', '.join(map(repr, unknown))}: choose from {', '.join(OUTPUT_NAMES)} "
            "(repeat the option or separate with commas)"
        )
    return names


def merge_outputs(groups: list[list[str]] | None) -> list[str] | None:
    """Every ``--output`` given, in order, each name once (``--output diff --output remediation,diff``)."""
    if not groups:
        return None
    return list(dict.fromkeys(name for group in groups for name in group))


@dataclass
class TagRules:
    """The rules of a tag-rules file and where each came from, for the API's field names."""

    path: Path
    rules: list[JsonObject]
    lines: list[int] = field(default_factory=list)  # 1-based line of each rule (YAML files only)

    def describe(self, index: int) -> str:
        where = f" (line {self.lines[index]})" if index < len(self.lines) else ""
        return f"rule {index + 1} of {self.path}{where}"


def load_tag_rules(path: Path) -> TagRules:
    """A hier_config tag_rules file: a YAML or JSON list of ``{match_rules: [...], apply_tags: [...]}``
    (also accepted: an object holding that list as ``tag_rules``, as in a request's options)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"{path}: no such tag-rules file") from None
    except IsADirectoryError:
        raise CliError(f"{path}: is a directory, not a tag-rules file") from None
    except UnicodeDecodeError:
        raise CliError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read it ({exc.strerror})") from None
    data, lines = _parse(path, text)
    if isinstance(data, dict) and set(data) == {"tag_rules"}:
        data, lines = data["tag_rules"], []
    if data is None:
        raise CliError(f"{path}: empty: expected a list of tag rules {_RULE_SHAPE}")
    if not isinstance(data, list):
        raise CliError(f"{path}: expected a list of tag rules {_RULE_SHAPE}, found {_kind(data)}")
    if not data:
        raise CliError(f"{path}: holds no tag rules")
    rules = TagRules(path, [], lines if len(lines) == len(data) else [])
    for index, rule in enumerate(data):
        if not isinstance(rule, dict):
            raise CliError(
                f"{path}: {rules.describe(index)} is {_kind(rule)}, expected an object with "
                "match_rules and apply_tags"
            )
        _check_json(rule, f"{path}: {rules.describe(index)}")
        rules.rules.append(rule)
    return rules


def _parse(path: Path, text: str) -> tuple[Any, list[int]]:
    """JSON for a ``.json`` file or text that is JSON; YAML otherwise, with the line of each list item."""
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
        try:
            return json.loads(text), []
        except json.JSONDecodeError as exc:
            if path.suffix.lower() == ".json":
                raise CliError(
                    f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
                ) from None
    try:
        import yaml
    except ImportError:
        raise CliError(
            f"{path}: reading YAML needs PyYAML (pip install 'netremedy[cli]'); or write the rules as JSON"
        ) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise CliError(f"{path}: not valid YAML ({problem}{where})") from None
    lines = [item.start_mark.line + 1 for item in node.value] if isinstance(node, yaml.SequenceNode) else []
    return data, lines


def _check_json(value: Any, where: str, trail: str = "") -> None:
    """YAML can hold what JSON cannot (dates, binary, sets, non-text keys): say where, instead of a crash."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CliError(f"{where}: key {key!r} is not text")
            _check_json(item, where, f"{trail}.{key}" if trail else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, where, f"{trail}[{index}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise CliError(f"{where}: {trail} is {value}, not a value JSON can carry")
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise CliError(f"{where}: {trail} is {_kind(value)} ({value!r}); quote it to make it text")


def _kind(value: Any) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "text",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "empty",
    }
    return names.get(type(value), f"a {type(value).__name__}")


def command_line_options(args: argparse.Namespace) -> tuple[JsonObject, TagRules | None]:
    """The options given on the command line (only those given: a manifest's own options fill the rest),
    and the tag-rules file they came from."""
    options: JsonObject = {}
    rules = load_tag_rules(args.tag_rules) if args.tag_rules is not None else None
    if rules is not None:
        options["tag_rules"] = rules.rules
    if args.include_tag:
        options["include_tags"] = list(dict.fromkeys(args.include_tag))
    if args.exclude_tag:
        options["exclude_tags"] = list(dict.fromkeys(args.exclude_tag))
    if args.sectional_exiting:
        options["sectional_exiting"] = True
    outputs = merge_outputs(args.output)
    if outputs is not None:
        options["outputs"] = outputs
    return options, rules
