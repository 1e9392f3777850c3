"""Reading manifests (logic.manifests): JSON Lines with line numbers, pairing by prefix, the key rules, and
devices that fail alone (missing or forbidden objects) while the rest of the drop becomes one job."""

import json
from typing import Any

import boto3
import pytest

from netremedy.dal import blob_store, job_table
from netremedy.handlers import remediate_devices
from netremedy.logic.drops import start_dropped_job
from netremedy.logic.jobs import start_job
from netremedy.logic.manifests import (
    DropRefusedError,
    LoadedDrop,
    device_id_for,
    key_problem,
    load_drop,
    pair_relative_keys,
    parse_inventory,
    prefix_problem,
)
from netremedy.models.devices import DeviceConfig
from netremedy.models.object_keys import SERVICE_PREFIXES
from netremedy.models.settings import ServiceSettings, load_settings
from tests.unit.events import context, drain_queue, sqs_records


def _device(device_id: str, **configs: str) -> dict[str, str]:
    return {"device_id": device_id, "platform": "cisco_ios", **configs}


def _inline(device_id: str) -> dict[str, str]:
    return _device(
        device_id, running_config=f"hostname {device_id}", intended_config=f"hostname {device_id}-new"
    )


def _put(bucket: str, key: str, body: bytes | str) -> None:
    boto3.client("s3").put_object(
        Bucket=bucket, Key=key, Body=body.encode() if isinstance(body, str) else body
    )


def _jsonl(*lines: Any) -> bytes:
    return (
        b"\n".join(line if isinstance(line, bytes) else json.dumps(line).encode() for line in lines) + b"\n"
    )


def _load(aws: dict[str, Any], key: str, body: bytes | str) -> LoadedDrop:
    _put(aws["bucket"], key, body)
    return load_drop(load_settings(), aws["bucket"], key)


def _refusal(aws: dict[str, Any], key: str, body: bytes | str) -> DropRefusedError:
    with pytest.raises(DropRefusedError) as refused:
        _load(aws, key, body)
    return refused.value


def _settings(**environment: str) -> ServiceSettings:
    base = {"TABLE_NAME": "t", "BUCKET_NAME": "b", "DEVICE_QUEUE_URL": "q", "FINALIZE_QUEUE_URL": "f"}
    return ServiceSettings.model_validate(base | {"FANOUT_QUEUE_URL": "o"} | environment)


# JSON Lines -----------------------------------------------------------------------------------------------------


def test_a_jsonl_manifest_reads_its_header_line_and_one_device_per_line(aws: dict[str, Any]) -> None:
    # Given a header line, then devices, with a blank line and CRLF line ends
    body = _jsonl(
        {"options": {"outputs": ["diff"]}, "allow_empty_intended": True}, _inline("r1"), b"", _inline("r2")
    ).replace(b"\n", b"\r\n")
    # When it is read
    loaded = _load(aws, "incoming/fleet.jsonl", body)
    # Then the devices and the header's job options are the manifest's
    assert [device.device_id for device in loaded.devices] == ["r1", "r2"]
    assert loaded.devices[1].intended_config == "hostname r2-new"
    assert loaded.allow_empty_intended is True and loaded.options.outputs == ["diff"]
    assert loaded.failed == {}


def test_jsonl_is_recognised_by_its_first_line_whatever_the_key(aws: dict[str, Any]) -> None:
    # A key without .jsonl (an upload's, say): the first line is a whole object that is not a JSON manifest
    loaded = _load(aws, "incoming/fleet.json", _jsonl(_inline("r1"), _inline("r2")))
    assert [device.device_id for device in loaded.devices] == ["r1", "r2"]
    # while a one-line JSON manifest stays JSON
    loaded = _load(aws, "incoming/one-line.json", json.dumps({"device_configs": [_inline("r3")]}))
    assert [device.device_id for device in loaded.devices] == ["r3"]


def test_jsonl_errors_name_the_line_and_the_field(aws: dict[str, Any]) -> None:
    body = _jsonl(
        _inline("r1"),
        {**_inline("r2"), "platform": "ios"},
        b"{not json",
        _inline("r1"),
        {"device_id": "r5", "platform": "cisco_ios", "running_config": "a"},
        b"\xff\xfe",
    )
    refused = _refusal(aws, "incoming/bad.jsonl", body)
    fields = [detail["field"] for detail in refused.details]
    assert fields == [
        "line 2: platform",
        "line 3",
        "line 4: device_id",
        "line 5: intended_config",
        "line 6",
    ]
    assert "not valid JSON" in refused.details[1]["message"]
    assert refused.details[2]["message"] == "'r1' appears more than once (first on line 1)"
    assert refused.details[3]["message"] == "Field required"
    assert refused.details[4]["message"] == "not UTF-8 text"
    assert "5 problem(s)" in str(refused)


def test_a_header_is_only_the_first_line_and_an_empty_manifest_is_refused(aws: dict[str, Any]) -> None:
    refused = _refusal(aws, "incoming/late.jsonl", _jsonl(_inline("r1"), {"options": {}}))
    assert refused.details[0]["field"].startswith("line 2: ")
    refused = _refusal(aws, "incoming/empty.jsonl", _jsonl({"options": {}}))
    assert "no device" in str(refused)


def test_a_json_manifest_still_reads_as_before(aws: dict[str, Any]) -> None:
    body = json.dumps({"device_configs": [_inline("r1")], "options": {"outputs": ["future"]}}, indent=2)
    loaded = _load(aws, "incoming/fleet.json", body)
    assert [device.device_id for device in loaded.devices] == ["r1"] and loaded.options.outputs == ["future"]
    refused = _refusal(aws, "incoming/bad.json", json.dumps({"device_configs": [{**_inline("r1"), "x": 1}]}))
    assert refused.details == [{"field": "device_configs[0].x", "message": "Extra inputs are not permitted"}]


def test_a_json_manifest_streams_with_options_after_the_devices(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a JSON manifest read 7 bytes at a time (each value cut across reads), its options last
    monkeypatch.setattr(blob_store, "_READ_CHUNK_BYTES", 7)
    emoji = "hostname r2 \U0001f600"  # written as a surrogate pair escape by json.dumps
    body = json.dumps(
        {
            "device_configs": [_inline("r1"), {**_inline("r2"), "running_config": emoji}],
            "options": {"outputs": ["diff"], "sectional_exiting": True},
            "allow_empty_intended": True,
        },
        indent=1,
    )
    # When it is read
    loaded = _load(aws, "incoming/late-options.json", body)
    # Then the devices and the options are the manifest's, whatever their order
    assert [device.device_id for device in loaded.devices] == ["r1", "r2"]
    assert loaded.devices[1].running_config == emoji
    assert loaded.options.outputs == ["diff"] and loaded.options.sectional_exiting is True
    assert loaded.allow_empty_intended is True


def test_a_json_manifests_errors_are_the_devices_then_the_other_fields(aws: dict[str, Any]) -> None:
    # Given bad devices (a float where text is expected), a bad flag and an unknown field before them
    body = json.dumps(
        {
            "zone": "eu",
            "device_configs": [_inline("r1"), {**_inline("r2"), "platform": "ios"}, _inline("r3") | {"x": 1}]
            + [{**_inline("r4"), "running_config": 1.5}],
            "allow_empty_intended": 0.0,
        }
    )
    refused = _refusal(aws, "incoming/bad-fields.json", body)
    # Then every problem is named with its field path, in pydantic's order
    assert [(detail["field"], detail["message"]) for detail in refused.details] == [
        ("device_configs[1].platform", refused.details[0]["message"]),
        ("device_configs[2].x", "Extra inputs are not permitted"),
        ("device_configs[3].running_config", "Input should be a valid string"),
        ("allow_empty_intended", "Input should be a valid boolean"),
        ("zone", "Extra inputs are not permitted"),
    ]
    assert "'cisco_ios'" in refused.details[0]["message"] and "5 problem(s)" in str(refused)
    # and once the devices are valid, their ids must be unique
    refused = _refusal(
        aws, "incoming/twice.json", json.dumps({"device_configs": [_inline("r1"), _inline("r1")]})
    )
    assert refused.details[0]["field"] == "device_configs" and "'r1'" in refused.details[0]["message"]


def test_a_prefix_pair_manifest_with_devices_is_refused_for_that_field(aws: dict[str, Any]) -> None:
    body = json.dumps(
        {"device_configs": [{"device_id": "bad id"}], "running_prefix": "a/", "intended_prefix": "b/"}
    )
    refused = _refusal(aws, "incoming/mixed.json", body)
    assert refused.details == [{"field": "device_configs", "message": "Extra inputs are not permitted"}]


@pytest.mark.parametrize(
    ("body", "wording"),
    [
        (
            b'{"device_configs": [{"device_id": "r1", "running_config": "enable secret hunter2',
            "premature EOF",
        ),
        (b'{"device_configs": [], "running_config": "enable secret hunter2"} x', "trailing garbage"),
        (b"{device_configs: 'enable secret hunter2'}", "invalid char"),
        (b"", "premature EOF"),
    ],
)
def test_invalid_json_is_refused_without_quoting_the_manifest(
    aws: dict[str, Any], body: bytes, wording: str
) -> None:
    refused = _refusal(aws, "incoming/broken.json", body)
    # Then the parser's reason is given, but not the text around it (configs hold secrets)
    assert str(refused).startswith("the manifest is not valid JSON (") and wording in str(refused)
    assert "hunter2" not in str(refused) and "\n" not in str(refused)


def test_non_utf8_and_lone_surrogates_are_refused(aws: dict[str, Any]) -> None:
    refused = _refusal(
        aws, "incoming/latin1.json", '{"device_configs": [{"device_id": "r\xe9"}]}'.encode("latin-1")
    )
    assert str(refused).startswith("the manifest cannot be read as UTF-8 JSON text")
    # A \u escape of half a pair is no text; the parser would read it as "?" in the config
    body = json.dumps({"device_configs": [{**_inline("r1"), "running_config": "hostname \udc80"}]})
    assert "lone surrogate" in str(_refusal(aws, "incoming/surrogate.json", body))
    # while an escaped backslash before "ud800" is just text
    loaded = _load(
        aws,
        "incoming/backslash.json",
        json.dumps({"device_configs": [_inline("r1") | {"running_config": "a\\ud800"}]}),
    )
    assert loaded.devices[0].running_config == "a\\ud800"


def test_a_deeply_nested_json_manifest_is_refused_as_such(aws: dict[str, Any]) -> None:
    body = '{"options": {}, "device_configs": [' + "[" * 600 + "]" * 600 + "]}"
    assert "nested too deeply" in str(_refusal(aws, "incoming/deep.json", body))


# Key rules --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("inputs/0b5e0c2e-other-job/request.json", "under inputs/"),
        ("results/0b5e0c2e-other-job/results.jsonl", "under results/"),
        ("outputs/0b5e0c2e-other-job/r1.json", "under outputs/"),
        ("incoming/another-teams-manifest.json", "under incoming/"),
        ("backups/../inputs/job/request.json", "'..' path segments"),
        ("./inputs/job/request.json", "'..' path segments"),
        ("/inputs/job/request.json", "empty"),
        ("backups//r1.cfg", "empty"),
    ],
)
def test_a_manifest_may_not_reference_what_the_service_keeps(key: str, reason: str) -> None:
    problem = key_problem(_settings(), key)
    assert problem is not None and reason in problem


@pytest.mark.parametrize("prefix", SERVICE_PREFIXES)
def test_every_prefix_the_service_writes_is_refused(prefix: str) -> None:
    assert f"under {prefix}" in (key_problem(_settings(), f"{prefix}some-job/r1.json") or "")


def test_any_other_key_is_allowed_unless_config_prefixes_narrow_it() -> None:
    assert key_problem(_settings(), "backups/site1/r1.cfg") is None
    assert key_problem(_settings(), "inputs.txt") is None  # not under inputs/
    narrowed = _settings(CONFIG_PREFIXES="backups/,intended/site1/")
    assert narrowed.allowed_config_prefixes == ("backups/", "intended/site1/")
    assert key_problem(narrowed, "backups/r1.cfg") is None
    assert key_problem(narrowed, "intended/site1/r1.cfg") is None
    problem = key_problem(narrowed, "intended/site2/r1.cfg")
    assert problem == "it is not under the allowed config prefixes (backups/, intended/site1/)"
    assert prefix_problem(narrowed, "intended/") is not None  # wider than the allowed one
    assert prefix_problem(narrowed, "backups/site1/") is None
    assert "under inputs/" in (prefix_problem(narrowed, "inputs/") or "")


def test_config_prefixes_must_be_a_comma_list_of_prefixes() -> None:
    with pytest.raises(ValueError):
        _settings(CONFIG_PREFIXES="backups")


def _started_drop(aws: dict[str, Any], key: str, body: bytes | str) -> str:
    """Upload a drop and start its job as the drop function does; the job id."""
    bucket = aws["bucket"]
    _put(bucket, key, body)
    etag = boto3.client("s3").head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    outcome = start_dropped_job(load_settings(), bucket, key, etag, sequencer="01")
    assert outcome.outcome == "accepted" and outcome.job_id is not None
    return outcome.job_id


def _error(aws: dict[str, Any], job_id: str, device_id: str) -> str | None:
    result = job_table.get_device_result(aws["table"], job_id, device_id)
    assert result is not None
    return result.error


def test_a_forbidden_or_missing_object_fails_its_device_only_and_is_never_read(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given another job's inputs and results in the bucket, and a manifest that references them
    bucket = aws["bucket"]
    _put(bucket, "inputs/other-job/request.json", '{"device_configs": "secret"}')
    _put(bucket, "results/other-job/results.jsonl", "secret results")
    _put(bucket, "backups/r4.cfg", "hostname r4")
    _put(bucket, "backups/r5.cfg", b"\xff not text")
    _put(bucket, "backups/r6.cfg", "hostname r6")
    manifest = _jsonl(
        _inline("r1"),
        _device("r2", running_config_key="inputs/other-job/request.json", intended_config="hostname r2"),
        _device("r3", running_config="hostname r3", intended_config_key="results/other-job/results.jsonl"),
        _device("r4", running_config_key="backups/r4.cfg", intended_config_key="backups/gone.cfg"),
        _device("r5", running_config_key="backups/r5.cfg", intended_config="hostname r5"),
        _device("r6", running_config_key="backups/r6.cfg", intended_config_key="backups/r6.cfg"),
    )
    read: list[str] = []
    original = blob_store.get_text
    monkeypatch.setattr(
        blob_store, "get_text", lambda b, key, limit: read.append(key) or original(b, key, limit)
    )
    # When the drop function starts its job
    job_id = _started_drop(aws, "incoming/mixed.jsonl", manifest)
    # Then the refused keys fail their devices at once, with the device, the key and the rule in the reason,
    # and the start read no config at all
    assert read == []
    assert (_error(aws, job_id, "r2") or "").startswith(
        "device r2: running_config_key 'inputs/other-job/request.json' "
    )
    assert "is not allowed: it is under inputs/" in (_error(aws, job_id, "r2") or "")
    assert "intended_config_key 'results/other-job/results.jsonl' is not allowed" in (
        _error(aws, job_id, "r3") or ""
    )
    assert _job(aws, job_id).failed_devices == 2
    # When the worker computes what was queued
    remediate_devices.handler(sqs_records(drain_queue(aws["queue_url"])), context())
    # Then it read the allowed keys only (a key named twice, once), and each problem failed its device alone
    assert sorted(read) == ["backups/gone.cfg", "backups/r4.cfg", "backups/r5.cfg", "backups/r6.cfg"]
    assert (
        _error(aws, job_id, "r4")
        == "device r4: intended_config_key 'backups/gone.cfg' names no object in the bucket"
    )
    assert _error(aws, job_id, "r5") == (
        "device r5: running_config_key 'backups/r5.cfg' is not UTF-8 text, or is over 4194304 bytes"
    )
    job = _job(aws, job_id)
    assert (job.status, job.completed_devices, job.failed_devices) == ("completed", 2, 4)
    computed = job_table.get_device_result(aws["table"], job_id, "r6")
    assert computed is not None and (computed.status, computed.remediation) == ("success", "")


def test_a_config_over_the_size_limit_by_key_fails_its_device_in_the_worker(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a referenced object within what S3 reads for a config but over a (lowered) size limit
    from netremedy.models import devices

    monkeypatch.setattr(devices, "MAX_CONFIG_BYTES", 10)
    _put(aws["bucket"], "backups/big.cfg", "hostname a-long-name")
    manifest = _jsonl(_device("big", running_config_key="backups/big.cfg", intended_config="hostname b"))
    # When the drop starts and the worker computes it
    job_id = _started_drop(aws, "incoming/big.jsonl", manifest)
    remediate_devices.handler(sqs_records(drain_queue(aws["queue_url"])), context())
    # Then the device fails with pydantic's size message, naming the field, as a POST's would
    assert _error(aws, job_id, "big") == (
        "device big: running_config: Value error, config is 20 bytes; the limit is 10 bytes"
    )


def test_a_referenced_device_too_big_for_a_message_travels_by_claim_check_with_its_key(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given small device messages, and a device with its running config by key and a big intended one inline
    monkeypatch.setenv("MESSAGE_MAX_BYTES", "4096")
    load_settings.cache_clear()
    _put(aws["bucket"], "backups/c1.cfg", "hostname c1")
    intended = "hostname c1\n" + "".join(
        f"interface Gi0/{port}\n description uplink\n" for port in range(200)
    )
    manifest = _jsonl(_device("c1", running_config_key="backups/c1.cfg", intended_config=intended))
    # When the drop starts
    job_id = _started_drop(aws, "incoming/claim.jsonl", manifest)
    bodies = drain_queue(aws["queue_url"])
    # Then the message names a claim check, which keeps the key (the start read no config)
    entry = json.loads(bodies[0])["devices"][0]
    assert set(entry) == {"device_id", "payload_key"}
    parked = json.loads(
        boto3.client("s3").get_object(Bucket=aws["bucket"], Key=entry["payload_key"])["Body"].read()
    )
    assert (parked["running_config_key"], "running_config" in parked) == ("backups/c1.cfg", False)
    # When the worker computes it
    remediate_devices.handler(sqs_records(bodies), context())
    # Then it read the key and the parked config
    result = job_table.get_device_result(aws["table"], job_id, "c1")
    assert result is not None and result.status == "success"
    assert (result.remediation or "").startswith("interface Gi0/0\n  description uplink")


def test_a_referenced_key_under_another_jobs_inputs_is_refused_without_any_get(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a JSON manifest referencing another job's claim-checked payload, and a spy on every S3 read
    bucket = aws["bucket"]
    _put(bucket, "inputs/other-job/r1.json", '{"running_config": "secret"}')
    reads: list[str] = []
    for name in ("get_text", "get_json"):
        original = getattr(blob_store, name)
        monkeypatch.setattr(
            blob_store,
            name,
            lambda b, key, *rest, _original=original: reads.append(key) or _original(b, key, *rest),
        )
    manifest = {
        "device_configs": [_device("r1", running_config_key="inputs/other-job/r1.json", intended_config="x")]
    }
    # When the drop starts
    job_id = _started_drop(aws, "incoming/steal.json", json.dumps(manifest))
    queued = drain_queue(aws["queue_url"])
    # Then the device failed at the start, nothing was queued, and nothing under inputs/other-job/ was read
    assert "is not allowed: it is under inputs/" in (_error(aws, job_id, "r1") or "")
    assert queued == []
    assert not [key for key in reads if key.startswith("inputs/other-job/")]
    assert _job(aws, job_id).status == "completed"


# Pairing by prefix ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "device_id"),
    [
        ("r1.cfg", "r1"),
        ("site1/r1.conf", "site1.r1"),
        ("site1/r1.example.net.TXT", "site1.r1.example.net"),
        ("r1", "r1"),
        ("r1.bak", "r1.bak"),
        ("core 1.cfg", None),
        ("-r1.cfg", None),
        (f"{'x' * 129}.cfg", None),
    ],
)
def test_a_device_id_is_the_relative_key_without_its_suffix(relative: str, device_id: str | None) -> None:
    assert device_id_for(relative) == device_id


def test_pairing_reports_one_sided_and_doubled_configs_and_ignores_hidden_files() -> None:
    pairing = pair_relative_keys(
        ["site1/r1.cfg", "site1/r2.cfg", "r3.cfg", "r3.txt", ".git/HEAD", "site2/", "bad name.cfg"],
        ["site1/r1.conf", "site1/r4.cfg", "r3.cfg", ".DS_Store"],
        "backups/",
        "intended/",
    )
    assert pairing.pairs == {"site1.r1": ("site1/r1.cfg", "site1/r1.conf")}
    assert pairing.unpaired == {
        "r3": "more than one config under backups/ for r3: backups/r3.cfg, backups/r3.txt",
        "site1.r2": "no intended config under intended/ for site1.r2 (backups/site1/r2.cfg)",
        "site1.r4": "no running config under backups/ for site1.r4 (intended/site1/r4.cfg)",
    }
    assert pairing.invalid == ["backups/bad name.cfg"]


def test_an_inventory_csv_maps_devices_to_platforms() -> None:
    text = "Device,Platform,site\nsite1/r1,cisco_nxos,a\nr2.cfg,juniper_junos,b\n,,\nr2,juniper_junos,b\n"
    assert parse_inventory(text) == {"site1.r1": "cisco_nxos", "r2": "juniper_junos"}
    with pytest.raises(ValueError, match="line 1"):
        parse_inventory("name,os\nr1,cisco_ios\n")
    with pytest.raises(ValueError, match="line 3: r1 is listed before"):
        parse_inventory("device_id,platform\nr1,cisco_ios\nr1,vyos\n")


def test_a_prefix_pair_manifest_pairs_listed_keys_with_their_platforms(aws: dict[str, Any]) -> None:
    bucket = aws["bucket"]
    for relative in ("site1/r1.cfg", "site1/r2.cfg", "site2/r3.cfg", "r4.cfg", "r5.cfg"):
        _put(bucket, f"backups/{relative}", f"hostname {relative}")
    for relative in ("site1/r1.conf", "site1/r2.conf", "site2/r3.txt", "r4.cfg", "r6.cfg"):
        _put(bucket, f"intended/{relative}", f"hostname {relative}-new")
    _put(bucket, "inventory/all.csv", "device,platform\nsite1/r2,cisco_iosxr\nsite2.r3,juniper_junos\n")
    manifest = {
        "running_prefix": "backups/",
        "intended_prefix": "intended/",
        "platform": "cisco_ios",
        "platforms": {"site2/r3": "vyos"},
        "inventory_key": "inventory/all.csv",
        "options": {"outputs": ["remediation"]},
    }
    loaded = _load(aws, "incoming/pairs.json", json.dumps(manifest))
    by_id = {device.device_id: device for device in loaded.devices}
    # The mapping wins over the inventory, which wins over the default; aliases become hier_config's names
    assert {device_id: device.platform for device_id, device in by_id.items()} == {
        "site1.r1": "cisco_ios",
        "site1.r2": "cisco_xr",
        "site2.r3": "vyos",
        "r4": "cisco_ios",
    }
    # Queued by key, for the worker to read
    assert (by_id["site1.r1"].running_config_key, by_id["site1.r1"].intended_config_key) == (
        "backups/site1/r1.cfg",
        "intended/site1/r1.conf",
    )
    assert loaded.failed == {
        "r5": "no intended config under intended/ for r5 (backups/r5.cfg)",
        "r6": "no running config under backups/ for r6 (intended/r6.cfg)",
    }
    assert loaded.options.outputs == ["remediation"]


def test_a_prefix_pair_manifest_without_a_platform_fails_those_devices(aws: dict[str, Any]) -> None:
    bucket = aws["bucket"]
    _put(bucket, "run/r1.cfg", "hostname r1")
    _put(bucket, "want/r1.cfg", "hostname r2")
    loaded = _load(aws, "incoming/p.json", json.dumps({"running_prefix": "run/", "intended_prefix": "want/"}))
    assert loaded.devices == []
    assert loaded.failed == {
        "r1": "no platform for r1: give platform, or list it in platforms or the inventory"
    }


@pytest.mark.parametrize(
    ("manifest", "needle"),
    [
        ({"running_prefix": "inputs/", "intended_prefix": "want/"}, "running_prefix"),
        ({"running_prefix": "results/job/", "intended_prefix": "want/"}, "under results/"),
        ({"running_prefix": "run/../inputs/", "intended_prefix": "want/"}, "'..' path segments"),
        ({"running_prefix": "run", "intended_prefix": "want/"}, "running_prefix"),
        ({"running_prefix": "run/", "intended_prefix": "run/want/"}, "contain one another"),
        (
            {"running_prefix": "run/", "intended_prefix": "want/", "inventory_key": "inputs/x.csv"},
            "inventory",
        ),
        ({"running_prefix": "run/", "intended_prefix": "want/", "inventory_key": "nowhere.csv"}, "no object"),
        ({"running_prefix": "empty/", "intended_prefix": "nothing/"}, "nothing to pair"),
        ({"running_prefix": "run/", "intended_prefix": "want/", "device_configs": []}, "device_configs"),
    ],
)
def test_a_prefix_pair_manifest_that_cannot_be_paired_is_refused(
    aws: dict[str, Any], manifest: dict[str, Any], needle: str
) -> None:
    _put(aws["bucket"], "run/r1.cfg", "hostname r1")
    refused = _refusal(aws, "incoming/p.json", json.dumps(manifest))
    assert needle in json.dumps({"error": str(refused), "details": refused.details})


def test_keys_that_make_no_device_id_refuse_the_drop_naming_them(aws: dict[str, Any]) -> None:
    _put(aws["bucket"], "run/core 1.cfg", "hostname a")
    _put(aws["bucket"], "want/core 1.cfg", "hostname b")
    manifest = {"running_prefix": "run/", "intended_prefix": "want/", "platform": "cisco_ios"}
    refused = _refusal(aws, "incoming/p.json", json.dumps(manifest))
    assert refused.details == [
        {"field": "run/core 1.cfg", "message": "not a valid device id"},
        {"field": "want/core 1.cfg", "message": "not a valid device id"},
    ]


# Devices failed at start, through the job ---------------------------------------------------------------------


def _job(aws: dict[str, Any], job_id: str) -> Any:
    job = job_table.get_job(aws["table"], job_id)
    assert job is not None
    return job


def test_a_job_of_only_failed_devices_completes_at_once(aws: dict[str, Any]) -> None:
    created = start_job([], False, load_settings(), owner="*", source="test", failed={"r1": "no config"})
    job = _job(aws, created.job_id)
    assert (job.status, job.total_devices, job.failed_devices) == ("completed", 1, 1)
    result = job_table.get_device_result(aws["table"], created.job_id, "r1")
    assert result is not None and (result.status, result.error) == ("failed", "no config")


def test_failed_devices_of_a_job_fanned_out_later_keep_it_pending(aws: dict[str, Any]) -> None:
    # Given a job too big to fan out inline (the fan-out function takes only a pending job)
    device = DeviceConfig.model_validate(_inline("r1"))
    settings = load_settings().model_copy(update={"inline_fanout_max_devices": 0})
    created = start_job([device], False, settings, owner="*", source="test", failed={"r2": "gone"})
    job = _job(aws, created.job_id)
    assert (job.status, job.total_devices, job.failed_devices) == ("pending", 2, 1)


def test_a_drop_with_a_missing_config_is_one_job_where_that_device_fails(aws: dict[str, Any]) -> None:
    # Given a drop whose second device references an object that does not exist
    bucket = aws["bucket"]
    manifest = _jsonl(_inline("r1"), _device("r2", running_config_key="backups/r2.cfg", intended_config="x"))
    _put(bucket, "incoming/fleet.jsonl", manifest)
    etag = boto3.client("s3").head_object(Bucket=bucket, Key="incoming/fleet.jsonl")["ETag"].strip('"')
    # When the drop starts and the worker computes what was queued
    outcome = start_dropped_job(load_settings(), bucket, "incoming/fleet.jsonl", etag, sequencer="01")
    remediate_devices.handler(sqs_records(drain_queue(aws["queue_url"])), context())
    # Then one job holds both devices: r1 computed, r2 failed with the device and key named
    assert outcome.outcome == "accepted" and outcome.job_id is not None
    job = _job(aws, outcome.job_id)
    assert (job.status, job.total_devices, job.completed_devices, job.failed_devices) == (
        "completed",
        2,
        1,
        1,
    )
    failed = job_table.get_device_result(aws["table"], outcome.job_id, "r2")
    assert failed is not None
    assert failed.error == "device r2: running_config_key 'backups/r2.cfg' names no object in the bucket"


def test_a_drop_job_is_fanned_out_slice_by_slice_and_every_device_is_queued(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given slices of two devices (1,000 in service), so that five devices take three slices
    from netremedy.logic import jobs

    monkeypatch.setattr(jobs, "_SLICE_DEVICES", 2)
    planned: list[int] = []
    original = jobs.plan_fanout
    monkeypatch.setattr(
        jobs,
        "plan_fanout",
        lambda job_id, devices, **kw: planned.append(len(devices)) or original(job_id, devices, **kw),
    )
    devices = [DeviceConfig.model_validate(_inline(f"r{index}")) for index in range(5)]
    # When the drop function starts the job
    created = start_job(devices, False, load_settings(), owner="*", source="test", fan_out_now=True)
    # Then each slice was planned on its own, and every device reached the queue once
    assert planned == [2, 2, 1]
    queued = [
        entry["device_id"] for body in drain_queue(aws["queue_url"]) for entry in json.loads(body)["devices"]
    ]
    assert sorted(queued) == [f"r{index}" for index in range(5)]
    assert _job(aws, created.job_id).total_devices == 5
