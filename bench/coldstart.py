"""Cold start: the import time of every handler module (netremedy.handlers.*), each in a fresh interpreter,
next to a bare ``import hier_config, boto3``; whether each handler loads hier_config; the peak RSS of the
worker's compute path on the largest corpus configs; and the worker's first invocation after its import.

    .venv/bin/python bench/coldstart.py [--runs 15]  # the worker's import, the bare one, ratio, 1st invocation
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from netremedy.models.settings import required_variables

ROOT = Path(__file__).resolve().parents[1]
HANDLERS_DIR = ROOT / "functions" / "netremedy" / "handlers"
BASELINE = "hier_config, boto3"

# Imports what it is given, timed from inside (interpreter start-up excluded: Lambda's runtime is up already).
_IMPORT_PROBE = """
import json, sys, time
started = time.perf_counter()
exec("import " + sys.argv[1])
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "hier_config": "hier_config" in sys.modules, "boto3": "boto3" in sys.modules,
                  "modules": len(sys.modules)}))
"""

# Peak RSS of the worker's compute path: the handler module imported, then the given pairs computed one after
# the other, as one worker invocation would (a batch holds up to 10 devices).
_RSS_PROBE = """
import json, resource, sys, time
import netremedy.handlers.remediate_devices
from netremedy.logic.remediation import RemediationError, compute_remediation
after_import = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:"))
pairs = json.load(sys.stdin)
seconds = []
for platform, running_path, intended_path in pairs:
    running, intended = open(running_path).read(), open(intended_path).read()
    started = time.perf_counter()
    try:
        compute_remediation(platform, running, intended)
    except RemediationError:
        pass
    seconds.append(time.perf_counter() - started)
print(json.dumps({"rss_after_import_kb": after_import,
                  "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "seconds": seconds}))
"""


# The worker's first invocation after its import: one message of one device, against moto in-process (its
# resources made through a session of their own, so that the worker's botocore caches start cold, as on Lambda).
_FIRST_INVOCATION_PROBE = """
import json, os, sys, time, types
import boto3
from moto import mock_aws
platform, running, intended = json.load(sys.stdin)
mock_aws().start()
setup = boto3.session.Session()
setup.client("dynamodb").create_table(
    TableName="coldstart-jobs", BillingMode="PAY_PER_REQUEST",
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}])
setup.client("s3").create_bucket(Bucket="coldstart-results")
os.environ.update(TABLE_NAME="coldstart-jobs", BUCKET_NAME="coldstart-results")
for variable in ("DEVICE_QUEUE_URL", "FINALIZE_QUEUE_URL", "FANOUT_QUEUE_URL"):
    os.environ[variable] = setup.client("sqs").create_queue(QueueName=variable.lower()[:-4])["QueueUrl"]
now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
setup.client("dynamodb").put_item(TableName="coldstart-jobs", Item={
    "pk": {"S": "JOB#coldstart"}, "sk": {"S": "JOB"}, "job_id": {"S": "coldstart"}, "status": {"S": "running"},
    "total_devices": {"N": "2"}, "completed_devices": {"N": "0"}, "failed_devices": {"N": "0"},
    "created_at": {"S": now}, "updated_at": {"S": now}, "expires_at": {"N": str(int(time.time()) + 86400)},
    "owner": {"S": "anonymous"}, "source": {"S": "api"}})
from netremedy.handlers.remediate_devices import handler
context = types.SimpleNamespace(function_name="RemediateDevicesFunction", memory_limit_in_mb=1769,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:coldstart", aws_request_id="coldstart")
def invoke(device_id):
    body = {"job_id": "coldstart", "devices": [{"device_id": device_id, "payload": {
        "platform": platform, "running_config": running, "intended_config": intended}}]}
    began, began_cpu = time.perf_counter(), time.process_time()
    response = handler({"Records": [{"messageId": device_id, "body": json.dumps(body)}]}, context)
    assert response == {"batchItemFailures": []}, response
    return time.perf_counter() - began, time.process_time() - began_cpu
(first, first_cpu), (second, second_cpu) = invoke("d1"), invoke("d2")
print("FIGURES " + json.dumps({"first": first, "first_cpu": first_cpu, "second": second, "second_cpu": second_cpu}))
"""


def _environment(python: str = sys.executable) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "BENCH_METER"))}
    env.pop("PYTHONPATH", None)
    if python != sys.executable:
        # Another interpreter's venv (.venv-lambda) has the dependencies, not the project: the package from
        # the source tree, first on the path as /var/task is on Lambda.
        env["PYTHONPATH"] = str(ROOT / "functions")
    # The warm-up writes the bytecode caches a deployed package is built with; without them each measured
    # import compiled every netremedy module from source (a third of the worker's import, measured).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.setdefault("AWS_ACCESS_KEY_ID", "testing")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    # Handlers check their settings at import (a Lambda's cold start); the imports need only placeholders.
    for name in required_variables():
        env.setdefault(name, "coldstart-placeholder")
    return env


def interpreters() -> list[str]:
    """This interpreter (the project's venv), then the template's Lambda runtime in .venv-lambda if this machine
    has that Python (bench/venvs.py builds the venv on first use)."""
    from venvs import LAMBDA_VENV, ensure, lambda_interpreter, lambda_requirements

    found = [sys.executable]
    lambda_python = lambda_interpreter()
    if lambda_python is not None:
        found.append(str(ensure(LAMBDA_VENV, lambda_requirements(), interpreter=lambda_python)))
    return found


def handler_modules() -> list[str]:
    return sorted(
        f"netremedy.handlers.{path.stem}" for path in HANDLERS_DIR.glob("*.py") if path.stem != "__init__"
    )


def _probe(target: str, env: dict[str, str], python: str = sys.executable) -> dict[str, Any]:
    done = subprocess.run(
        [python, "-c", _IMPORT_PROBE, target], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def import_times(runs: int = 5) -> dict[str, Any]:
    """Median of ``runs`` fresh-interpreter imports of each target (after one unmeasured warm-up each, so that
    bytecode caches exist, as in a deployed package built with them)."""
    env = _environment()
    targets = [BASELINE, *handler_modules()]
    samples: dict[str, list[dict[str, Any]]] = {t: [] for t in targets}
    for target in targets:
        _probe(target, env)
    for _ in range(runs):
        for target in targets:  # interleaved, so that a busy moment on the machine hits every target alike
            samples[target].append(_probe(target, env))
    rows: dict[str, Any] = {}
    for target, results in samples.items():
        errors = [r for r in results if "error" in r]
        if errors:
            rows[target] = {"error": errors[0]["error"]}
            continue
        rows[target] = {
            "median_ms": round(statistics.median(r["seconds"] for r in results) * 1000, 1),
            "min_ms": round(min(r["seconds"] for r in results) * 1000, 1),
            "imports_hier_config": results[0]["hier_config"],
            "imports_boto3": results[0]["boto3"],
            "modules_loaded": results[0]["modules"],
            "runs": len(results),
        }
    return {"baseline": BASELINE, "python": sys.version.split()[0], "results": rows}


def paired_import_ratio(
    runs: int = 15, module: str = "netremedy.handlers.remediate_devices", python: str = sys.executable
) -> dict[str, Any]:
    """The worker's import over the bare one, as the median of ``runs`` adjacent pairs (which of the two goes
    first alternates). This shared VM's speed drifts by a third within a minute: a pair's two imports run
    within a second of each other, so their ratio is far steadier than the ratio of two medians of imports
    spread over the whole run. Also the quartiles of the pair ratios, and each side's median."""
    env = _environment(python)
    for target in (BASELINE, module):
        first = _probe(target, env, python)  # bytecode caches written
        if "error" in first:
            return {"python": python, "error": f"import {target}: {first['error']}"}
    ratios: list[float] = []
    bare: list[float] = []
    mine: list[float] = []
    for index in range(runs):
        order = (BASELINE, module) if index % 2 == 0 else (module, BASELINE)
        seconds = {target: _probe(target, env, python)["seconds"] for target in order}
        bare.append(seconds[BASELINE] * 1000)
        mine.append(seconds[module] * 1000)
        ratios.append(seconds[module] / seconds[BASELINE])
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratios[0]] * 3
    return {
        "python": python,
        "python_version": _python_version(python),
        "module": module,
        "baseline": BASELINE,
        "pairs": runs,
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_quartiles": [round(quartiles[0], 3), round(quartiles[2], 3)],
        "module_median_ms": round(statistics.median(mine), 1),
        "baseline_median_ms": round(statistics.median(bare), 1),
    }


def _python_version(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"], capture_output=True, check=True
    )
    return done.stdout.decode().strip()


def _instructions(code: str, env: dict[str, str], python: str) -> int:
    done = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            python,
            "-c",
            code,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise RuntimeError("valgrind printed no instruction count")
    return int(found.group(1).replace(",", ""))


def instruction_ratio(
    module: str = "netremedy.handlers.remediate_devices", python: str = sys.executable
) -> dict[str, Any]:
    """The same ratio in instructions executed (valgrind): the same count whatever else the machine does, so it
    shows what the wall-clock ratio's noise hides. Each import's count is its process's less that of an
    interpreter that imports nothing (start-up and exit). None of the kernel's time (page faults, mmap) is in
    it. An error if valgrind is not installed."""
    if shutil.which("valgrind") is None:
        return {"python": python, "error": "valgrind is not installed"}
    env = _environment(python)
    for target in (BASELINE, module):
        _probe(target, env, python)  # bytecode caches written
    empty = _instructions("pass", env, python)
    bare = _instructions(f"import {BASELINE}", env, python) - empty
    mine = _instructions(f"import {module}", env, python) - empty
    return {
        "python": python,
        "python_version": _python_version(python),
        "module_instructions": mine,
        "baseline_instructions": bare,
        "ratio": round(mine / bare, 3),
    }


def import_breakdown(module: str = "netremedy.handlers.remediate_devices", top: int = 10) -> dict[str, float]:
    """``python -X importtime``: the cumulative import time (ms) of each top-level package the module pulls
    in, largest first (one run, so indicative)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    totals: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split(":", 1)[1].split("|"))
        if cumulative.isdigit() and "." not in name:  # a top-level package, wherever it was first imported
            totals[name] = max(totals.get(name, 0.0), int(cumulative) / 1000)
    return dict(sorted(totals.items(), key=lambda item: -item[1])[:top])


def worker_peak_rss(largest: list[tuple[str, Path, Path]]) -> dict[str, Any]:
    """Peak RSS of computing the largest pair alone, and of all the given (largest-first) pairs in a row."""
    env = _environment()
    # Once unmeasured, so that compiling bytecode (memory-hungry) is not charged to the import.
    subprocess.run([sys.executable, "-c", "import netremedy.handlers.remediate_devices"], env=env, check=True)
    out: dict[str, Any] = {}
    for label, pairs in (("largest_pair", largest[:1]), ("largest_pairs_in_one_invocation", largest)):
        payload = json.dumps(
            [[platform, str(running), str(intended)] for platform, running, intended in pairs]
        )
        done = subprocess.run(
            [sys.executable, "-c", _RSS_PROBE],
            input=payload,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        out[label] = {
            "pairs": [f"{p}/{r.parent.name} ({len(r.read_text().splitlines())} lines)" for p, r, _ in pairs],
            "rss_after_import_mb": round(figures["rss_after_import_kb"] / 1024, 1),  # VmRSS
            "peak_rss_mb": round(figures["peak_rss_kb"] / 1024, 1),
            "compute_seconds": [round(s, 2) for s in figures["seconds"]],
        }
    return out


def first_invocation(pair: tuple[str, Path, Path], runs: int = 3) -> dict[str, Any]:
    """The worker's first and second invocation (one message of one device each) in fresh interpreters,
    medians of ``runs``: the first pays what its import left for later (boto3 clients, pydantic schemas
    built on first use, the platform's risk rules), which is also a cold start's cost."""
    platform, running, intended = pair
    payload = json.dumps([platform, running.read_text(), intended.read_text()])
    samples: list[dict[str, float]] = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _FIRST_INVOCATION_PROBE],
            input=payload,
            env=_environment(),
            capture_output=True,
            text=True,
            check=True,
        )
        line = next(line for line in done.stdout.splitlines() if line.startswith("FIGURES "))
        samples.append(json.loads(line.removeprefix("FIGURES ")))
    return {
        "pair": f"{platform}/{running.parent.name} ({len(running.read_text().splitlines())} lines)",
        "first_invocation_ms": round(statistics.median(s["first"] for s in samples) * 1000, 1),
        "second_invocation_ms": round(statistics.median(s["second"] for s in samples) * 1000, 1),
        # CPU time too: on a shared machine the wall time is mostly waiting for a core.
        "first_invocation_cpu_ms": round(statistics.median(s["first_cpu"] for s in samples) * 1000, 1),
        "second_invocation_cpu_ms": round(statistics.median(s["second_cpu"] for s in samples) * 1000, 1),
        "runs": runs,
    }


def main() -> None:
    """The worker's import next to the bare baseline (and their ratio), then its first invocation."""
    from corpus import load_pairs

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--runs", type=int, default=15, help="adjacent pairs of fresh-interpreter imports")
    args = parser.parse_args()
    mine: float | None = None
    for python in interpreters():
        paired = paired_import_ratio(args.runs, python=python)
        if "error" in paired:
            print(f"{python}: {paired['error']}")
            continue
        counted = instruction_ratio(python=python)
        print(f"Python {paired['python_version']} ({python}):")
        print(f"  import {BASELINE}: median {paired['baseline_median_ms']:.1f} ms of {args.runs}")
        print(f"  import {paired['module']}: median {paired['module_median_ms']:.1f} ms of {args.runs}")
        low, high = paired["ratio_quartiles"]
        print(
            f"  ratio: {paired['ratio_median']:.2f}x, median of {args.runs} adjacent pairs (quartiles {low:.2f}-"
            f"{high:.2f}; target <= 1.2x); in instructions "
            + (f"{counted['ratio']:.3f}x" if "ratio" in counted else counted["error"])
        )
        if python == sys.executable:
            mine = paired["module_median_ms"]
    medium = sorted((p for p in load_pairs() if p.size_class == "medium"), key=lambda p: p.running_lines)
    pair = medium[len(medium) // 2]
    first = first_invocation((pair.platform, pair.running_path, pair.intended_path))
    print(
        f"first invocation, one message of {first['pair']}: median {first['first_invocation_ms']} ms "
        f"(CPU {first['first_invocation_cpu_ms']} ms; second invocation {first['second_invocation_ms']} ms, "
        f"CPU {first['second_invocation_cpu_ms']} ms; moto in-process, {first['runs']} runs)"
    )
    if mine is not None:
        print(f"import + first invocation: {mine + first['first_invocation_ms']:.1f} ms")


if __name__ == "__main__":
    main()
