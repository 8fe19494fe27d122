"""A late apply on the ConnectWise emulator: a create the client gave up on lands anyway.

Switched on the way a test does it against a running sandbox (``PUT /_sandbox/faults``) and
in-process (``FaultInjector.configure``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from psasync.sandbox.server import Sandbox, serve_in_thread
from tests.integration.connectwise.world import Harness, auth_headers, whole_sandbox

pytestmark = pytest.mark.anyio

ADDITIONS = "/v4_6_release/apis/3.0/finance/agreements/1201/additions"
HOLD = 0.6
BODY = {
    "product": {"id": 301},
    "billCustomer": "Billable",
    "quantity": 3,
    "effectiveDate": "2026-11-01T00:00:00Z",
    "description": "Microsoft 365 [psasync task:7:line1:recurring]",
}
LATE_CREATES = {
    "late_apply_count": 1,
    "late_apply_seconds": HOLD,
    "methods": ["POST"],
    "path_prefix": ADDITIONS,
}


async def additions(http: httpx.AsyncClient) -> int:
    response = await http.get(f"{ADDITIONS}/count", headers=auth_headers())
    return int(response.json()["count"])


async def until_additions(http: httpx.AsyncClient, wanted: int) -> float:
    started = time.monotonic()
    while await additions(http) != wanted:
        assert time.monotonic() - started < 5, "the held create never landed"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture
def sandbox() -> Sandbox:
    return whole_sandbox()


@pytest.fixture
def served(sandbox: Sandbox) -> Iterator[str]:
    with serve_in_thread(sandbox.app) as url:
        yield url


async def test_over_loopback_a_create_the_client_timed_out_on_lands_after_the_hold(
    served: str,
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=5) as http:
        switched = await http.put("/_sandbox/faults", json=LATE_CREATES)
        assert switched.status_code == 200 and switched.json()["late_apply_count"] == 1
        sent = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await http.post(ADDITIONS, json=BODY, headers=auth_headers(), timeout=HOLD / 4)
        assert await additions(http) == 2, "not there when the client looks straight away"
        await until_additions(http, 3)
        landed_after = time.monotonic() - sent
        again = await http.post(ADDITIONS, json=BODY, headers=auth_headers())
    # Measured from the request, not from the timeout (which a busy machine may deliver late).
    assert landed_after >= HOLD
    assert again.status_code == 201, "only the next matching request was held"


async def test_over_loopback_a_client_that_waits_gets_the_created_addition(
    served: str,
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=HOLD * 10) as http:
        await http.put("/_sandbox/faults", json=LATE_CREATES)
        started = time.monotonic()
        response = await http.post(ADDITIONS, json=BODY, headers=auth_headers())
        elapsed = time.monotonic() - started
    assert response.status_code == 201 and response.json()["id"] == 9003
    assert elapsed >= HOLD


async def test_over_loopback_a_held_invalid_create_gets_the_vendor_refusal(
    served: str,
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=HOLD * 10) as http:
        await http.put("/_sandbox/faults", json=LATE_CREATES)
        response = await http.post(ADDITIONS, json={"quantity": 1}, headers=auth_headers())
    assert response.status_code == 400 and response.json()["code"] == "InvalidObject"


async def test_in_process_a_cancelled_create_lands_after_the_hold(
    harness: Harness, http: httpx.AsyncClient
) -> None:
    harness.inject(**LATE_CREATES)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(
            http.post(ADDITIONS, json=BODY, headers=auth_headers()), timeout=HOLD / 4
        )
    assert await additions(http) == 2
    assert await until_additions(http, 3) >= HOLD / 2
