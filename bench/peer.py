"""The peer: hier-config-api 0.1.0 (the hier_config REST API, FastAPI), in .venv-peer, served by uvicorn on a
loopback port, given the same batch.

Its batch API (hier_config_api/routers/batch.py, services/platform_service.py in the 0.1.0 wheel):

- ``POST /api/v1/batch/remediation`` with ``{"device_configs": [{"device_id", "platform", "running_config",
  "intended_config"}, ...]}`` (a list of free-form dicts): it computes every device *inside the request*
  (synchronously, in the event loop) and answers ``{"job_id", "total_devices"}`` once all are done;
- ``GET /api/v1/batch/jobs/{job_id}``: ``{"job_id", "status", "progress", "total_devices",
  "completed_devices", "failed_devices"}``, already "completed" after the POST;
- ``GET /api/v1/batch/jobs/{job_id}/results``: every device at once (no paging), ``{"device_id", "status",
  "remediation", "rollback"}`` with ``str(HConfig)`` text, or ``"error"``.

So its POST latency is its whole compute time; the total adds the status and results GETs. Its platform map
knows only cisco_ios, cisco_nxos, ``cisco_iosxr``, juniper_junos, arista_eos and generic; anything else
silently becomes generic. Devices are sent with ``cisco_xr`` renamed ``cisco_iosxr`` so that XR is parsed as
XR; the other platforms of a mix that it does not know are counted and reported.
"""

import json
import os
import signal
import subprocess
import time
import urllib.request
from typing import Any, Self

import requests
from corpus import Device
from venvs import PEER_REQUIREMENTS, PEER_VENV, ensure, installed_version

from netremedy_local.launcher import free_port

_PEER_PLATFORMS = {
    "cisco_ios": "cisco_ios",
    "cisco_nxos": "cisco_nxos",
    "cisco_xr": "cisco_iosxr",
    "juniper_junos": "juniper_junos",
    "arista_eos": "arista_eos",
    "generic": "generic",
}


class PeerServer:
    def __init__(self) -> None:
        self.python = ensure(PEER_VENV, PEER_REQUIREMENTS)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        self.process = subprocess.Popen(
            [
                str(self.python),
                "-m",
                "uvicorn",
                "hier_config_api.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"peer did not start: {self.process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("peer did not answer /health within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def run_peer(devices: list[Device]) -> dict[str, Any]:
    body = json.dumps(
        {
            "device_configs": [
                device.as_request()
                | {"platform": _PEER_PLATFORMS.get(device.pair.platform, device.pair.platform)}
                for device in devices
            ]
        }
    ).encode()
    unknown = sorted({d.pair.platform for d in devices if d.pair.platform not in _PEER_PLATFORMS})
    with PeerServer() as peer:
        session = requests.Session()
        started = time.perf_counter()
        response = session.post(
            f"{peer.url}/api/v1/batch/remediation",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=3600,
        )
        post_s = time.perf_counter() - started
        response.raise_for_status()
        job_id = response.json()["job_id"]
        status: dict[str, Any] = {}
        while status.get("status") not in ("completed", "failed"):
            status = session.get(f"{peer.url}/api/v1/batch/jobs/{job_id}", timeout=600).json()
            if status.get("status") not in ("completed", "failed"):
                time.sleep(0.25)
        results = session.get(f"{peer.url}/api/v1/batch/jobs/{job_id}/results", timeout=3600).json()
        total_s = time.perf_counter() - started
        succeeded = sum(1 for r in results["results"] if r.get("status") == "success")
        return {
            "package": f"hier-config-api {installed_version(PEER_VENV, 'hier-config-api')} "
            f"(hier_config {installed_version(PEER_VENV, 'hier-config')})",
            "devices": len(devices),
            "body_bytes": len(body),
            "post_latency_s": round(post_s, 3),
            "total_s": round(total_s, 3),
            "devices_per_s": round(len(devices) / total_s, 1),
            "succeeded": succeeded,
            "failed": len(results["results"]) - succeeded,
            "platforms_it_maps_to_generic": unknown,
        }
