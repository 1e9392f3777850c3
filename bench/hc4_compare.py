"""hier_config 3.7.1 against the newest hier_config 4 pre-release, on every corpus pair.

Both engines run bench/hc_engine.py in a fresh interpreter of their own virtualenv (3.7.1: the project's
.venv; 4.x: .venv-hc4, created on first use) and emit JSON. Reported: how many pairs give identical
remediation and rollback text, which differ (with the first differing line), which either engine refuses,
and the speed ratio (3.7.1 time / 4.x time, best of --repeat runs per pair) overall and per size class; also
4.x's native ``WorkflowRemediation.from_strings`` path. Figures go to bench/results/hc4_compare.json.
Investigation only: the service keeps hier_config 3.7.1.

    .venv/bin/python bench/hc4_compare.py [--corpus DIR] [--repeat 3]
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import DEFAULT_CORPUS, Pair, load_pairs
from venvs import HC4_REQUIREMENTS, HC4_VENV, ensure

HERE = Path(__file__).resolve().parent
ENGINE = HERE / "hc_engine.py"


def _run_engine(
    python: Path, pairs: list[Pair], mode: str, repeat: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    payload = json.dumps([[p.platform, p.case, str(p.running_path), str(p.intended_path)] for p in pairs])
    done = subprocess.run(
        [str(python), str(ENGINE), "--mode", mode, "--repeat", str(repeat)],
        input=payload,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{python} {ENGINE.name} --mode {mode} failed: {done.stderr[-2000:]}")
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return lines[0], {line["name"]: line for line in lines[1:]}


def _first_difference(a: str, b: str) -> str:
    left, right = a.splitlines(), b.splitlines()
    for number, (x, y) in enumerate(zip(left, right, strict=False), 1):
        if x != y:
            return f"line {number}: 3.x {x!r} / 4.x {y!r}"
    return f"line counts differ: 3.x {len(left)} / 4.x {len(right)}"


def compare(corpus: Path = DEFAULT_CORPUS, repeat: int = 3) -> dict[str, Any]:
    pairs = load_pairs(corpus)
    classes = {p.name: p.size_class for p in pairs}
    hc4_python = ensure(HC4_VENV, HC4_REQUIREMENTS)
    v3_info, v3 = _run_engine(Path(sys.executable), pairs, "compat", repeat)
    v4_info, v4 = _run_engine(hc4_python, pairs, "compat", repeat)
    native_info, v4n = _run_engine(hc4_python, pairs, "native", repeat)

    identical: list[str] = []
    different: list[dict[str, Any]] = []
    refused: list[dict[str, str]] = []
    native_differs: list[str] = []
    timed: list[tuple[str, float, float, float]] = []
    for pair in pairs:
        a, b, n = v3[pair.name], v4[pair.name], v4n[pair.name]
        if not a["ok"] or not b["ok"]:
            refused.append({"pair": pair.name, "3.x": a.get("error", "ok"), "4.x": b.get("error", "ok")})
            if not a["ok"] and not b["ok"]:
                identical.append(pair.name)  # both refuse the pair: same outcome
            continue
        if (a["remediation"], a["rollback"]) == (b["remediation"], b["rollback"]):
            identical.append(pair.name)
        else:
            which = "remediation" if a["remediation"] != b["remediation"] else "rollback"
            different.append(
                {
                    "pair": pair.name,
                    "size_class": classes[pair.name],
                    "differs_in": which,
                    "first_difference": _first_difference(a[which], b[which]),
                    "lines_3x": len(a[which].splitlines()),
                    "lines_4x": len(b[which].splitlines()),
                    "only_in_4x": sorted(set(b[which].splitlines()) - set(a[which].splitlines()))[:10],
                    "only_in_3x": sorted(set(a[which].splitlines()) - set(b[which].splitlines()))[:10],
                }
            )
        if n.get("ok") and (n["remediation"], n["rollback"]) != (b["remediation"], b["rollback"]):
            native_differs.append(pair.name)
        timed.append((pair.name, a["seconds"], b["seconds"], n["seconds"] if n.get("ok") else float("nan")))

    def ratios(rows: list[tuple[str, float, float, float]]) -> dict[str, Any]:
        t3 = sum(r[1] for r in rows)
        t4 = sum(r[2] for r in rows)
        tn = sum(r[3] for r in rows)
        return {
            "pairs": len(rows),
            "seconds_3x": round(t3, 3),
            "seconds_4x": round(t4, 3),
            "seconds_4x_native": round(tn, 3),
            "speedup_4x": round(t3 / t4, 2) if t4 else None,
            "speedup_4x_native": round(t3 / tn, 2) if tn else None,
        }

    speed = {"all": ratios(timed)}
    for size in ("small", "medium", "large"):
        rows = [r for r in timed if classes[r[0]] == size]
        if rows:
            speed[size] = ratios(rows)
    return {
        "engines": {"3.x": v3_info, "4.x": v4_info, "4.x_native": native_info},
        "pairs": len(pairs),
        "identical": len(identical),
        "different": len(different),
        "different_pairs": different,
        "refused_by_either": refused,
        "native_path_differs_from_compat": native_differs,
        "speed": speed,
        "repeat": repeat,
    }


def print_report(result: dict[str, Any]) -> None:
    engines = result["engines"]
    print(
        f"\nhier_config {engines['3.x']['hier_config']} vs {engines['4.x']['hier_config']} on "
        f"{result['pairs']} corpus pairs (best of {result['repeat']})"
    )
    print(f"  identical remediation+rollback: {result['identical']}   different: {result['different']}")
    for row in result["different_pairs"][:10]:
        print(
            f"    differs: {row['pair']} ({row['size_class']}, {row['differs_in']}, {row['lines_3x']} vs "
            f"{row['lines_4x']} lines): {row['first_difference']}; only in 4.x: {row['only_in_4x']}; "
            f"only in 3.x: {row['only_in_3x']}"
        )
    for row in result["refused_by_either"]:
        print(f"    refused: {row['pair']}: 3.x {row['3.x']} | 4.x {row['4.x']}")
    if result["native_path_differs_from_compat"]:
        print(
            f"    4.x from_strings text differs from its compat text on: {result['native_path_differs_from_compat']}"
        )
    print(
        f"  {'class':8} {'pairs':>5} {'3.x s':>9} {'4.x s':>9} {'4.x/3.x':>8} {'native s':>9} {'native x':>8}"
    )
    for size, row in result["speed"].items():
        print(
            f"  {size:8} {row['pairs']:>5} {row['seconds_3x']:>9.3f} {row['seconds_4x']:>9.3f} "
            f"{row['speedup_4x']!s:>7}x {row['seconds_4x_native']:>9.3f} {row['speedup_4x_native']!s:>7}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=3, help="runs per pair; the best counts (default 3)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "hc4_compare.json")
    args = parser.parse_args()
    result = compare(args.corpus, args.repeat)
    print_report(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
