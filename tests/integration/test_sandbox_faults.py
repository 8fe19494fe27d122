"""The sandboxes' fault injection and call counting, on a tiny app of their own."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI, Request

from psasync.sandbox.faults import (
    CallCounter,
    DroppedConnection,
    FaultInjector,
    FaultMiddleware,
    FaultSettings,
)
from psasync.sandbox.server import serve_in_thread

pytestmark = pytest.mark.anyio


def error_body(status: int, message: str) -> bytes:
    return json.dumps({"status": status, "message": message}).encode()


class Harness:
    def __init__(self, settings: FaultSettings | None = None) -> None:
        self.created: list[str] = []
        inner = FastAPI()

        @inner.get("/things")
        def list_things() -> list[str]:
            return self.created

        @inner.post("/things", status_code=201)
        def create_thing() -> dict[str, str]:
            self.created.append("thing")
            return {"name": "thing", "padding": "x" * 40}

        @inner.post("/echo")
        async def echo(request: Request) -> dict[str, object]:
            body = await request.json()
            self.created.append(body["name"])
            return {"received": body}

        self.faults = FaultInjector(settings)
        self.calls = CallCounter()
        self.app = FaultMiddleware(
            inner, faults=self.faults, calls=self.calls, error_body=error_body
        )

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://sandbox"
        )


async def test_calls_are_counted_by_method_and_path() -> None:
    harness = Harness()
    async with harness.client() as client:
        await client.get("/things")
        await client.get("/things?page=2")
        await client.post("/things")
    assert harness.calls.snapshot() == {("GET", "/things"): 2, ("POST", "/things"): 1}
    assert harness.calls.total(method="GET") == 2
    assert harness.calls.total(prefix="/other") == 0
    harness.calls.reset()
    assert harness.calls.total() == 0


async def test_a_429_carries_retry_after_and_the_vendor_error_body() -> None:
    harness = Harness(FaultSettings(rate_429=1, retry_after_seconds=4))
    async with harness.client() as client:
        response = await client.post("/things")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "4"
    assert response.json() == {"status": 429, "message": "Too many requests: slow down"}
    assert harness.created == [], "a refused request must not reach the emulator"


async def test_a_5xx_is_answered_before_the_emulator_sees_the_request() -> None:
    harness = Harness(FaultSettings(rate_5xx=1))
    async with harness.client() as client:
        response = await client.post("/things")
    assert response.status_code == 503 and harness.created == []


async def test_a_dropped_connection_happens_after_the_emulator_acted() -> None:
    harness = Harness(FaultSettings(rate_drop=1))
    async with harness.client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/things")
    assert harness.created == ["thing"]


async def test_faults_can_target_a_method_and_a_path_prefix_and_be_switched_off() -> None:
    harness = Harness(FaultSettings(rate_5xx=1, methods=frozenset({"POST"})))
    async with harness.client() as client:
        assert (await client.get("/things")).status_code == 200
        assert (await client.post("/things")).status_code == 503
        harness.faults.configure(FaultSettings(rate_5xx=1, path_prefix="/elsewhere"))
        assert (await client.post("/things")).status_code == 201
        harness.faults.configure(FaultSettings())
        assert (await client.post("/things")).status_code == 201


def test_shares_are_drawn_in_proportion_from_a_seeded_source() -> None:
    faults = FaultInjector(FaultSettings(rate_429=0.2, rate_5xx=0.1, rate_drop=0.1, seed=3))
    draws = [faults.draw() for _ in range(10_000)]
    assert 1800 < draws.count("429") < 2200
    assert 800 < draws.count("5xx") < 1200
    assert 800 < draws.count("drop") < 1200
    replay = FaultInjector(FaultSettings(rate_429=0.2, rate_5xx=0.1, rate_drop=0.1, seed=3))
    assert [replay.draw() for _ in range(100)] == draws[:100]


def test_shares_outside_zero_to_one_are_refused() -> None:
    with pytest.raises(ValueError, match="rate_429"):
        FaultSettings(rate_429=1.5)


def test_the_dropped_connection_error_names_the_path() -> None:
    assert "/things" in str(DroppedConnection("/things"))


# Late apply ---------------------------------------------------------------------------------------

HOLD = 0.6


def late(**settings: object) -> FaultSettings:
    return FaultSettings.model_validate(
        {"rate_late": 1, "late_apply_seconds": HOLD, "methods": {"POST"}, **settings}
    )


async def eventually(check: Callable[[], bool], *, within: float = 5.0) -> float:
    """Seconds until ``check()`` holds (fails after ``within``)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within, "it never happened"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_a_late_apply_answers_a_waiting_client_for_real_after_the_hold() -> None:
    harness = Harness(late())
    async with harness.client() as client:
        started = time.monotonic()
        response = await client.post("/echo", json={"name": "held"})
        elapsed = time.monotonic() - started
        assert (await client.get("/things")).json() == ["held"], "reads are not held"
    assert response.status_code == 200 and response.json() == {"received": {"name": "held"}}
    assert elapsed >= HOLD


async def test_in_process_a_late_write_lands_after_the_client_gave_up() -> None:
    harness = Harness(late())
    async with harness.client() as client:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.post("/echo", json={"name": "late"}), HOLD / 4)
        assert harness.created == [], "not applied while the client was there"
        waited = await eventually(lambda: harness.created == ["late"])
    assert waited >= HOLD / 2, "it landed only when the hold was over"


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
def served(harness: Harness) -> Iterator[str]:
    with serve_in_thread(harness.app) as url:
        yield url


async def test_over_loopback_a_late_write_lands_after_the_client_timed_out(
    harness: Harness, served: str
) -> None:
    harness.faults.configure(late())
    async with httpx.AsyncClient(base_url=served, timeout=HOLD / 4) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/echo", json={"name": "late", "padding": "x" * 100_000})
    assert harness.created == [], "not applied while the client was there"
    waited = await eventually(lambda: harness.created == ["late"])
    assert waited >= HOLD / 2, "it landed only when the hold was over"


async def test_over_loopback_a_client_that_waits_gets_the_real_answer(
    harness: Harness, served: str
) -> None:
    harness.faults.configure(late())
    async with httpx.AsyncClient(base_url=served, timeout=HOLD * 10) as client:
        started = time.monotonic()
        response = await client.post("/echo", json={"name": "held", "padding": "y" * 100_000})
        elapsed = time.monotonic() - started
    assert response.status_code == 200 and response.json()["received"]["name"] == "held"
    assert response.json()["received"]["padding"] == "y" * 100_000, "the whole body replayed"
    assert elapsed >= HOLD and harness.created == ["held"]


async def test_late_apply_count_holds_exactly_the_next_matching_requests() -> None:
    harness = Harness(
        FaultSettings(late_apply_count=2, late_apply_seconds=HOLD, path_prefix="/echo")
    )
    async with harness.client() as client:
        for name in ("one", "two"):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.post("/echo", json={"name": name}), HOLD / 4)
        assert harness.created == [] and harness.faults.late_applies_left == 0
        assert (await client.post("/things")).status_code == 201, "another path is not held"
        started = time.monotonic()
        assert (await client.post("/echo", json={"name": "three"})).status_code == 200
        assert time.monotonic() - started < HOLD, "the count is used up"
        await eventually(lambda: sorted(harness.created) == ["one", "thing", "three", "two"])


def test_a_pending_late_apply_count_is_the_only_fault_drawn() -> None:
    faults = FaultInjector(FaultSettings(late_apply_count=1, rate_5xx=1))
    assert [faults.draw(), faults.draw()] == ["late", "5xx"]
    faults.configure(FaultSettings(late_apply_count=1))
    assert faults.late_applies_left == 1, "switching faults on again starts a new count"


def test_the_late_share_is_drawn_after_the_others_from_one_roll() -> None:
    def injector(rate_late: float) -> FaultInjector:
        return FaultInjector(
            FaultSettings(rate_429=0.2, rate_5xx=0.1, rate_drop=0.1, rate_late=rate_late, seed=3)
        )

    faults = injector(0.3)
    draws = [faults.draw() for _ in range(10_000)]
    assert 2700 < draws.count("late") < 3300
    assert 2700 < draws.count(None) < 3300, "at most one fault per request"
    without = injector(0)
    assert [without.draw() for _ in range(200)] == [
        None if fault == "late" else fault for fault in draws[:200]
    ], "a late share leaves the other faults' seeded sequence as it was"


def test_late_apply_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="rate_late"):
        FaultSettings(rate_late=2)
    with pytest.raises(ValueError, match="late_apply_seconds"):
        FaultSettings(late_apply_seconds=-1)
    with pytest.raises(ValueError, match="late_apply_count"):
        FaultSettings(late_apply_count=-1)
    with pytest.raises(ValueError, match="late_aply"):
        FaultSettings.model_validate({"late_aply": 1})
