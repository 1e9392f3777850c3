"""Cost per device: AWS API calls and job-item writes per device (the repository's meter), SQS messages per
device, and an estimated AWS bill per 1,000 devices from list prices and the billing units measured by
bench/_stack_meter (SQS 64 KiB request chunks, DynamoDB request units from item sizes, S3 request tiers,
Lambda invocations and their measured duration x the template's MemorySize, API Gateway requests).

Left out of the per-device figures, and said so in the output: the client's status polls (a client's choice,
not a per-device cost; their cost per poll is reported) and empty ReceiveMessage calls (the local pollers
long-poll for 1 s where Lambda's event source mapping waits 20 s: an idle-queue cost per hour, not per device).
"""

from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]

# Public list prices, US East (N. Virginia), on-demand, first pricing tier, no free tier. Sources: the AWS
# pricing pages for SQS, DynamoDB, Lambda, S3 and API Gateway, as read 2025 (DynamoDB on-demand after the
# November 2024 price cut; Lambda at the arm64 rate, the template's architecture).
PRICES_USD: dict[str, Any] = {
    "region": "us-east-1",
    "as_of": "2025 (DynamoDB on-demand rates cut 50% on 2024-11-01)",
    "sqs_standard_per_million_requests": 0.40,  # each 64 KiB chunk of a request's payload is one request
    "dynamodb_on_demand_per_million_wru": 0.625,  # was 1.25 before 2024-11-01
    "dynamodb_on_demand_per_million_rru": 0.125,  # was 0.25 before 2024-11-01
    "lambda_per_million_requests": 0.20,
    "lambda_arm64_per_gb_second": 0.0000133334,  # x86_64: 0.0000166667
    "s3_standard_per_1000_put_copy_post_list": 0.005,
    "s3_standard_per_1000_get_select": 0.0004,
    # REST API (the template's AWS::Serverless::Api), first 333 million requests a month; each request is one,
    # whatever its size (only HTTP APIs, at 1.00, meter in 512 KB increments).
    "api_gateway_rest_per_million_requests": 3.50,
    "eventbridge_per_million_custom_events": 1.00,  # each 64 KB chunk of an entry is one event
}
# The estimate per 1,000 devices before issue 15 (bench/results/latest.json at 1391f5b: 1,000 medium devices,
# 2 cores), and the target of at least 20% below it.
BASELINE_USD_PER_1000 = {"medium": 0.0096}
TARGET_FRACTION_OF_BASELINE = 0.8

# Services the estimate prices; calls to any other service are listed as unpriced.
PRICED_SERVICES = ("sqs", "dynamodb", "s3", "events")

# Which function serves each kind of API request the bench makes.
API_HANDLERS = {
    "post": "create_job",
    "upload_form": "create_upload",
    "status": "job_status",
    "results": "job_results",
}


class _TolerantLoader(yaml.SafeLoader):
    """Reads CloudFormation short tags (!Ref, !GetAtt, ...) as plain strings."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return str(loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    assert isinstance(node, yaml.MappingNode)
    return loader.construct_mapping(node)


_TolerantLoader.add_multi_constructor("!", _tag)


def template_functions(template: Path = ROOT / "template.yaml") -> dict[str, dict[str, Any]]:
    """Per function: its handler module, MemorySize (MB) and the queue (logical id) that triggers it."""
    document = yaml.load(template.read_text(), Loader=_TolerantLoader)
    default_memory = document.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    resources = document["Resources"]
    # SQS event sources are EventSourceMapping resources: FunctionName !Ref F, EventSourceArn !GetAtt Q.Arn.
    queues: dict[str, str] = {}
    for resource in resources.values():
        if resource.get("Type") == "AWS::Lambda::EventSourceMapping":
            mapping = resource["Properties"]
            queues[str(mapping["FunctionName"])] = str(mapping["EventSourceArn"]).split(".")[0]
    functions: dict[str, dict[str, Any]] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        functions[logical_id] = {
            "handler_module": properties["Handler"].rsplit(".", 2)[-2],
            "memory_mb": int(properties.get("MemorySize", default_memory)),
            "queue": queues.get(logical_id),
        }
    return functions


def _queue_logical_ids(resources: dict[str, str]) -> dict[str, str]:
    """Physical queue name (last segment of its URL) -> logical id, from the local stack's stack.json."""
    return {
        str(value).rstrip("/").rsplit("/", 1)[-1]: logical
        for logical, value in resources.items()
        if isinstance(value, str) and value.startswith("http")
    }


def per_device_costs(
    *,
    devices: int,
    calls: Counter[str],
    units: Counter[str],
    http_requests: list[dict[str, Any]],
    poll_calls: Counter[str],
    poll_units: Counter[str],
    resources: dict[str, str],
    mix: str | None = None,
) -> dict[str, Any]:
    """Everything per device (and the estimated bill per 1,000 devices) for one mix; for a mix with a baseline
    (``BASELINE_USD_PER_1000``), the comparison with it in ``vs_baseline``.

    ``calls``/``units`` cover the whole mix (submit, processing, results fetch, write-back) in every stack
    process; the client's status polls are taken out with the per-poll figures ``poll_calls``/``poll_units``.
    """
    polls = sum(1 for r in http_requests if r["kind"] == "status")
    service_calls = Counter(
        {op: n - polls * poll_calls.get(op, 0) for op, n in calls.items() if op != "job_row_writes"}
    )
    service_units = Counter({k: v - polls * poll_units.get(k, 0) for k, v in units.items()})
    queue_ids = _queue_logical_ids(resources)
    functions = template_functions()
    by_queue = {f["queue"]: (name, f) for name, f in functions.items() if f["queue"]}
    by_module = {f["handler_module"]: (name, f) for name, f in functions.items()}

    empty_receives = sum(v for k, v in service_units.items() if k.endswith(":empty_receives"))
    raw_total = sum(calls[op] for op in calls if op != "job_row_writes")
    service_total = sum(service_calls.values())
    # The two meters flush independently, so take receives from one of them: the billing meter, which tells
    # empty receives from the others.
    by_operation = Counter(service_calls)
    receives = sum(v for k, v in service_units.items() if k.startswith("sqs:") and k.endswith(":receives"))
    service_total += receives + empty_receives - by_operation["sqs:ReceiveMessage"]
    by_operation["sqs:ReceiveMessage"] = receives
    by_operation["sqs:ReceiveMessage (empty, not counted)"] = empty_receives
    sent = {
        queue_ids.get(k.split(":")[1], k.split(":")[1]): v
        for k, v in service_units.items()
        if k.startswith("sqs:") and k.endswith(":sent_messages")
    }

    # Lambda: queue-driven invocations measured in the pollers; API invocations from the client's requests.
    lambda_rows: dict[str, dict[str, float]] = {}
    for key, value in service_units.items():
        if key.startswith("lambda:") and key.endswith(":invocations"):
            queue_name = key.split(":")[1]
            name, function = by_queue.get(queue_ids.get(queue_name, ""), (queue_name, {"memory_mb": 128}))
            seconds = service_units.get(f"lambda:{queue_name}:seconds", 0.0)
            lambda_rows[name] = {
                "invocations": value,
                "seconds": seconds,
                "gb_seconds": seconds * function["memory_mb"] / 1024,
            }
    api_gateway_requests = 0
    for request in http_requests:
        if request["kind"] == "status":
            continue
        name, function = by_module[API_HANDLERS[request["kind"]]]
        row = lambda_rows.setdefault(name, {"invocations": 0, "seconds": 0.0, "gb_seconds": 0.0})
        row["invocations"] += 1
        row["seconds"] += request["seconds"]
        row["gb_seconds"] += request["seconds"] * function["memory_mb"] / 1024
        api_gateway_requests += 1

    p = PRICES_USD
    sqs_requests = service_units.get("sqs:requests_64k", 0) - empty_receives
    cost = {
        "sqs": sqs_requests * p["sqs_standard_per_million_requests"] / 1e6,
        "dynamodb": (
            service_units.get("dynamodb:wru", 0) * p["dynamodb_on_demand_per_million_wru"]
            + service_units.get("dynamodb:rru", 0) * p["dynamodb_on_demand_per_million_rru"]
        )
        / 1e6,
        "s3": (
            service_units.get("s3:put_tier_requests", 0) * p["s3_standard_per_1000_put_copy_post_list"]
            + service_units.get("s3:get_tier_requests", 0) * p["s3_standard_per_1000_get_select"]
        )
        / 1e3,
        "lambda_requests": sum(r["invocations"] for r in lambda_rows.values())
        * p["lambda_per_million_requests"]
        / 1e6,
        "lambda_duration": sum(r["gb_seconds"] for r in lambda_rows.values())
        * p["lambda_arm64_per_gb_second"],
        "api_gateway": api_gateway_requests * p["api_gateway_rest_per_million_requests"] / 1e6,
        "eventbridge": service_units.get("events:billed_events", 0)
        * p["eventbridge_per_million_custom_events"]
        / 1e6,
    }
    unpriced = sorted(
        {op for op, n in service_calls.items() if n and op.split(":")[0] not in PRICED_SERVICES}
    )
    per_1000 = {k: round(v * 1000 / devices, 5) for k, v in cost.items()}
    per_1000["total"] = round(sum(cost.values()) * 1000 / devices, 4)
    baseline = BASELINE_USD_PER_1000.get(mix or "")
    vs_baseline = (
        {
            "baseline_usd_per_1000": baseline,
            "target_usd_per_1000": round(baseline * TARGET_FRACTION_OF_BASELINE, 5),
            "usd_per_1000": per_1000["total"],
            "change_percent": round((per_1000["total"] / baseline - 1) * 100, 1),
            "met": per_1000["total"] <= baseline * TARGET_FRACTION_OF_BASELINE,
        }
        if baseline is not None
        else None
    )

    def per_device(value: float) -> float:
        return round(value / devices, 4)

    return {
        "aws_calls_per_device": per_device(service_total - empty_receives),
        "aws_calls_per_device_incl_empty_receives": per_device(service_total),
        "aws_calls_per_device_raw_incl_status_polls": per_device(raw_total),
        "empty_receives_per_device": per_device(empty_receives),
        "job_item_writes_per_device": per_device(calls.get("job_row_writes", 0)),
        "aws_calls_per_device_by_operation": {
            op: per_device(n) for op, n in sorted(by_operation.items()) if n
        },
        "sqs_messages_per_device": {queue: per_device(n) for queue, n in sorted(sent.items())},
        "sqs_billed_requests_per_device": per_device(sqs_requests),
        "dynamodb_wru_per_device": per_device(service_units.get("dynamodb:wru", 0)),
        "dynamodb_rru_per_device": per_device(service_units.get("dynamodb:rru", 0)),
        "s3_put_tier_per_device": per_device(service_units.get("s3:put_tier_requests", 0)),
        "s3_get_tier_per_device": per_device(service_units.get("s3:get_tier_requests", 0)),
        "lambda": {
            name: {
                "invocations": int(r["invocations"]),
                "seconds": round(r["seconds"], 2),
                "gb_seconds": round(r["gb_seconds"], 2),
            }
            for name, r in sorted(lambda_rows.items())
        },
        "api_gateway_requests": api_gateway_requests,
        "status_polls": polls,
        "aws_calls_per_status_poll": {op: round(n, 2) for op, n in poll_calls.items() if n},
        "estimated_usd_per_1000_devices": per_1000,
        "vs_baseline": vs_baseline,
        "unpriced_operations": unpriced,
    }
