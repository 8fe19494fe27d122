"""The one sandbox server: both emulators on one port, its control endpoints and its command."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from psasync.sandbox.fixture import DEMO_FIXTURE, load_fixture
from psasync.sandbox.server import Sandbox, build_sandbox, serve_in_thread

CONNECTWISE_HEADERS = {"clientId": "5b1c2a6e-3f4d-4e8a-9c1b-7d2e6f8a9b0c"}
CONNECTWISE_AUTH = ("northwind+demoPublicKey01", "demoPrivateKey01")
COMPANIES = "/v4_6_release/apis/3.0/company/companies"


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return build_sandbox(load_fixture(DEMO_FIXTURE))


@pytest.fixture(scope="module")
def base_url(sandbox: Sandbox) -> Iterator[str]:
    with serve_in_thread(sandbox.app) as url:
        yield url


def test_both_emulators_answer_on_one_port(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as http:
        info = http.get("/login/companyinfo/northwind").json()
        companies = http.get(COMPANIES, auth=CONNECTWISE_AUTH, headers=CONNECTWISE_HEADERS)
        token = http.post(
            "/marketplace/us/token",
            auth=("demo@northwind-it.example", "northwind-demo"),
            headers={"X-Subscription-Key": "demo-us-gateway-key"},
            json={"marketplace": "us"},
        )
    assert info["Codebase"] == "v4_6_release/"
    assert companies.status_code == 200 and len(companies.json()) == 20
    assert token.status_code == 200 and token.json()["token"]


def test_calls_are_counted_and_reset_through_the_control_endpoints(
    sandbox: Sandbox, base_url: str
) -> None:
    with httpx.Client(base_url=base_url) as http:
        assert http.delete("/_sandbox/calls").status_code == 204
        for _ in range(3):
            http.get(COMPANIES, auth=CONNECTWISE_AUTH, headers=CONNECTWISE_HEADERS)
        calls = http.get("/_sandbox/calls").json()
    assert calls == [{"method": "GET", "path": COMPANIES, "count": 3}]
    assert sandbox.calls.total(prefix="/v4_6_release") == 3


def test_faults_are_switched_per_run_through_the_control_endpoint(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as http:
        switched = http.put("/_sandbox/faults", json={"rate_429": 1, "retry_after_seconds": 9})
        refused = http.get("/marketplace/us/customers")
        http.put("/_sandbox/faults", json={})
        answered = http.get("/marketplace/us/customers")
    assert switched.json()["rate_429"] == 1
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "9"
    assert refused.headers["X-Correlation-ID"], "the gateway tags its refusals too"
    assert answered.status_code == 401, "faults off: the emulator itself answers again"


def test_bad_fault_settings_are_refused_with_the_field_named(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as http:
        answer = http.put("/_sandbox/faults", json={"rate_5xx": 2})
    assert answer.status_code == 422 and "rate_5xx" in answer.text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_sandbox_command_serves_a_fixture_until_stopped() -> None:
    port = free_port()
    psasync = Path(sys.executable).with_name("psasync")
    process = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        [str(psasync), "sandbox", "--fixture", str(DEMO_FIXTURE), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        answer = None
        deadline = time.monotonic() + 20
        while answer is None and time.monotonic() < deadline:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/login/companyinfo/northwind")
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer is not None and answer.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
    text = output.decode()
    assert f"Cloud Marketplace sandbox 'us': http://127.0.0.1:{port}/marketplace/us" in text


def test_the_sandbox_command_names_the_bad_key_of_a_fixture(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("connectwise:\n  companys: []\n")
    psasync = Path(sys.executable).with_name("psasync")
    result = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(psasync), "sandbox", "--fixture", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 2
    assert "unknown key 'connectwise.companys'" in result.stdout
