"""The Autotask emulator inside the whole sandbox, seeded from the shipped fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from psasync.sandbox.fixture import AUTOTASK_DEMO_FIXTURE, load_fixture
from psasync.sandbox.server import Sandbox, build_sandbox

BASE = "http://at.test"
API = "/atservicesrest/v1.0"
USER = "psasync-api@northwind-it.example"
HEADERS = {
    "ApiIntegrationCode": "DEMO-PSASYNC-TRACKING-ID",
    "UserName": USER,
    "Secret": "demo-Autotask-Secret-1",
}


@pytest.fixture
def sandbox() -> Sandbox:
    return build_sandbox(load_fixture(AUTOTASK_DEMO_FIXTURE))


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=HEADERS) as client:
        yield client
