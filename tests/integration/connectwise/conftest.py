"""Fixtures: the emulator behind fault injection, and a client pointed at it in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from psasync.adapters.connectwise import ConnectWiseClient
from tests.integration.connectwise.world import Harness


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
async def http(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with harness.http() as client:
        yield client


@pytest.fixture
def client(harness: Harness, http: httpx.AsyncClient) -> ConnectWiseClient:
    return harness.client(http)
