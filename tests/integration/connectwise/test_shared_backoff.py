"""A 429 burst from the emulator's fault injection, in real time: the requests of one client
(one retry policy) back off together, so the refused host sees few requests during the burst.

Ten readers start 30 ms apart while every call is refused with ``Retry-After: 1``; the burst
heals after 0.8 s. With a back-off per request each reader would spend a refused call at its
start (ten during the burst); shared, the first refusal holds the others back.
"""

from __future__ import annotations

import asyncio

import pytest

from psasync.adapters.connectwise import ConnectWiseClient
from psasync.adapters.http import RetryPolicy
from tests.integration.connectwise.world import Harness, site

pytestmark = pytest.mark.anyio
READERS = 10
STAGGER = 0.03
BURST = 0.8


async def test_a_429_burst_holds_back_every_reader_of_the_host(harness: Harness) -> None:
    harness.inject(rate_429=1, retry_after_seconds=1)
    async with harness.http() as http:
        client = ConnectWiseClient(http, site(), policy=RetryPolicy(attempts=3))

        async def reader(number: int) -> int:
            await asyncio.sleep(number * STAGGER)
            return (await client.agreement(1201)).id

        readers = [asyncio.ensure_future(reader(number)) for number in range(READERS)]
        await asyncio.sleep(BURST)
        during_burst = harness.calls.total()
        harness.heal()
        assert await asyncio.gather(*readers) == [1201] * READERS
    # The first reader's call is refused; the others were not sent while it waited.
    assert during_burst == 1
    # Each reader's call went through once after the burst; only one was ever refused.
    assert harness.calls.total() == READERS + 1
