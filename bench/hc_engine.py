"""Remediation and rollback text of corpus pairs with whichever hier_config this interpreter has (3.x or 4.x).

Run by bench/hc4_compare.py under each virtualenv; reads ``[[platform, case, running_path, intended_path],
...]`` on stdin, writes one JSON object per line: a header with the version, then one line per pair with the
text (or the error) and the best time of ``--repeat`` runs.

Modes:
- ``compat``: the API both majors share and the service uses: ``get_hconfig(Platform[NAME], text)``,
  ``WorkflowRemediation(running, intended)``, each config's ``all_children_sorted()`` joined with
  ``cisco_style_text()``;
- ``native`` (4.x only): ``WorkflowRemediation.from_strings(platform, running, intended)`` (parsed in Rust with
  the GIL released) and its ``remediation_text()`` / ``rollback_text()``.

Platforms are looked up by enum member *name*: 3.x's Platform values are numbers, 4.x's are numeric strings.
"""

import argparse
import json
import sys
import time
from importlib.metadata import version
from pathlib import Path

from hier_config import Platform, WorkflowRemediation, get_hconfig


def _text(config: object) -> str:
    return "\n".join(child.cisco_style_text() for child in config.all_children_sorted())  # type: ignore[attr-defined]


def compat(platform: Platform, running: str, intended: str) -> tuple[str, str]:
    workflow = WorkflowRemediation(get_hconfig(platform, running), get_hconfig(platform, intended))
    return _text(workflow.remediation_config), _text(workflow.rollback_config)


def native(platform: Platform, running: str, intended: str) -> tuple[str, str]:
    workflow = WorkflowRemediation.from_strings(platform, running, intended)  # type: ignore[attr-defined]
    return workflow.remediation_text(), workflow.rollback_text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("compat", "native"), default="compat")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    compute = compat if args.mode == "compat" else native
    if args.mode == "native" and not hasattr(WorkflowRemediation, "from_strings"):
        raise SystemExit("native mode needs hier_config 4 (WorkflowRemediation.from_strings)")
    print(
        json.dumps(
            {"hier_config": version("hier-config"), "mode": args.mode, "python": sys.version.split()[0]}
        ),
        flush=True,
    )
    for platform_name, case, running_path, intended_path in json.load(sys.stdin):
        running, intended = Path(running_path).read_text(), Path(intended_path).read_text()
        platform = Platform[platform_name.upper()]
        best = float("inf")
        line: dict[str, object] = {"name": f"{platform_name}/{case}"}
        for _ in range(max(1, args.repeat)):
            started = time.perf_counter()
            try:
                remediation, rollback = compute(platform, running, intended)
                line.update(ok=True, remediation=remediation, rollback=rollback)
            except Exception as exc:  # noqa: BLE001
                line.update(ok=False, error=f"{exc.__class__.__name__}: {exc}"[:500])
            best = min(best, time.perf_counter() - started)
        line["seconds"] = best
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
