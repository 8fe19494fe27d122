"""The sandboxes' fault injection and call counting, on a tiny app of their own."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI

from psasync.sandbox.faults import (
    CallCounter,
    DroppedConnection,
    FaultInjector,
    FaultMiddleware,
    FaultSettings,
)

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
