"""How the two vendor clients behave at scale and under faults, against the sandboxes.

Run: ``.venv/bin/python bench/vendor_clients.py [--orders 5000] [--latency-ms 20]``

1. Marketplace: log in and read every order of a generated fixture, one page after another,
   with ``latency-ms`` added to each call. Judged by the ratio of wall time to the lower bound
   (the fewest calls the API allows — token, reseller, ⌈orders / page size⌉ pages — × latency).
2. ConnectWise: create ``--creates`` additions while the sandbox refuses 10 % of calls with 429,
   answers 10 % with 503 and cuts 20 % off after handling them. Judged by duplicates (must be 0)
   and by calls per created addition against the lower bound of 1.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import math
import random
import time
from decimal import Decimal

import httpx

from psasync.adapters.connectwise import ConnectWiseClient, ConnectWiseSite
from psasync.adapters.connectwise.mapping import AdditionWrite
from psasync.adapters.http import RetryPolicy
from psasync.adapters.marketplace import MarketplaceClient
from psasync.sandbox.faults import CallCounter, FaultSettings
from psasync.sandbox.fixture import parse_fixture
from psasync.sandbox.generate import CONNECTWISE_CREDENTIALS, LOGIN, generate_fixture
from psasync.sandbox.server import build_sandbox, serve_in_thread

MONTH = dt.date(2026, 11, 1)


async def no_wait(_seconds: float) -> None:
    """Retries in the benchmark do not sleep: the figures are about calls, not back-off."""


async def read_all_orders(base: str, *, orders: int, latency_ms: int, page_size: int) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        client = MarketplaceClient(
            http,
            base_url=f"{base}/marketplace/us",
            code="us",
            subscription_key="bench-us-gateway-key",
            page_size=page_size,
        )
        started = time.perf_counter()
        session = await client.login(username=LOGIN["username"], password=LOGIN["password"])
        listing = await session.list_orders()
        elapsed = time.perf_counter() - started
    calls = 2 + math.ceil(len(listing.items) / page_size)
    bound = calls * latency_ms / 1000
    print(f"marketplace: {len(listing.items)} of {orders} orders read in {elapsed:.2f} s")
    print(f"  calls: {calls} ({calls / orders:.4f} per order), page size {page_size}")
    print(f"  lower bound {bound:.2f} s at {latency_ms} ms a call; ratio {elapsed / bound:.2f}")


async def create_under_faults(base: str, sandbox_calls: CallCounter, *, creates: int) -> None:
    site = ConnectWiseSite(
        site_url=base,
        company_id=CONNECTWISE_CREDENTIALS["companyId"],
        public_key=CONNECTWISE_CREDENTIALS["publicKey"],
        private_key=CONNECTWISE_CREDENTIALS["privateKey"],
        client_id=CONNECTWISE_CREDENTIALS["clientId"],
    )
    policy = RetryPolicy(attempts=8, sleep=no_wait, rng=random.Random(1))  # noqa: S311
    async with httpx.AsyncClient(timeout=30) as http:
        client = ConnectWiseClient(http, site, policy=policy, create_attempts=8)
        agreement = (await client.agreements())[0]
        for number in range(creates):
            write = AdditionWrite(
                product_id=1,
                quantity=Decimal(1 + number % 5),
                unit_price=Decimal("12.50"),
                unit_cost=Decimal("10.00"),
                effective_date=MONTH,
                description="Benchmark addition",
                invoice_description="Benchmark addition",
            )
            await client.create_addition(
                agreement.id, write, key=f"task:{number + 1}:line1:recurring"
            )
        stored = await client.additions(agreement.id)
    keys = [addition.sync_key for addition in stored if addition.sync_key]
    duplicates = len(keys) - len(set(keys))
    print(f"connectwise: {creates} creates under 10 % 429, 10 % 503, 20 % dropped answers")
    print(f"  additions stored with a key: {len(set(keys))}; duplicates: {duplicates}")
    calls = sandbox_calls.total(prefix="/v4_6_release", method="POST")
    print(f"  POSTs received: {calls} ({calls / creates:.2f} per addition; lower bound 1.00)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--creates", type=int, default=300)
    args = parser.parse_args()
    # Each retry is logged as a warning; the benchmark reports their sum instead.
    logging.getLogger("psasync.adapters").setLevel(logging.ERROR)
    data = generate_fixture(
        customers=max(1, args.orders // 5),
        subscriptions=args.orders,
        orders=args.orders,
        month=MONTH,
    )
    sandbox = build_sandbox(parse_fixture(data))
    with serve_in_thread(sandbox.app) as base:
        sandbox.faults.configure(FaultSettings(latency_ms=args.latency_ms))
        asyncio.run(
            read_all_orders(
                base, orders=args.orders, latency_ms=args.latency_ms, page_size=args.page_size
            )
        )
        sandbox.faults.configure(
            FaultSettings(rate_429=0.1, rate_5xx=0.1, rate_drop=0.2, retry_after_seconds=0, seed=4)
        )
        sandbox.calls.reset()
        asyncio.run(create_under_faults(base, sandbox.calls, creates=args.creates))


if __name__ == "__main__":
    main()
