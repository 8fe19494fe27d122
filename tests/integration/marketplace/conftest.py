"""The marketplace emulator on the fixture of ``data.py``, fault injection, client factories."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from psasync.adapters.http import RetryPolicy
from psasync.adapters.marketplace import MarketplaceClient
from psasync.sandbox.faults import CallCounter, FaultInjector, FaultMiddleware
from psasync.sandbox.marketplace import (
    MarketplaceFixture,
    create_marketplace_apps,
    marketplace_error_body,
)
from tests.integration.marketplace.data import BASE, START, US_KEY, fixture_data
from tests.integration.marketplace.spec import SPEC_PATH, SpecChecker, load_spec


class Clock:
    """A settable clock: token expiry is tested without waiting."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@dataclass
class Sleeps:
    """A fake ``sleep`` for the retry policy: records delays, and can act while "waiting"."""

    delays: list[float] = field(default_factory=list)
    on_sleep: Callable[[], None] | None = None

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep()


@dataclass
class Sandbox:
    """The ``us`` emulator behind fault injection and call counting, with its clock."""

    app: FaultMiddleware
    faults: FaultInjector
    calls: CallCounter
    clock: Clock
    eu_app: Any


def build_sandbox(fixture: MarketplaceFixture, *, clock: Clock, lifetime: int = 1500) -> Sandbox:
    apps = create_marketplace_apps(fixture, token_lifetime_seconds=lifetime, clock=clock)
    faults, calls = FaultInjector(), CallCounter()
    wrapped = FaultMiddleware(
        apps["us"], faults=faults, calls=calls, error_body=marketplace_error_body
    )
    return Sandbox(app=wrapped, faults=faults, calls=calls, clock=clock, eu_app=apps["eu"])


@pytest.fixture(scope="session")
def spec() -> SpecChecker:
    return SpecChecker(load_spec(SPEC_PATH))


@pytest.fixture
def fixture() -> MarketplaceFixture:
    return MarketplaceFixture.model_validate(fixture_data())


@pytest.fixture
def sandbox(fixture: MarketplaceFixture) -> Sandbox:
    return build_sandbox(fixture, clock=Clock())


@pytest.fixture
async def http(sandbox: Sandbox, spec: SpecChecker) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the emulator in-process; every successful answer is spec-checked."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app),
        base_url=BASE,
        event_hooks={"response": [spec.hook()]},
    ) as client:
        yield client


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_client(
    http: httpx.AsyncClient,
    *,
    sleeps: Sleeps,
    clock: Callable[[], dt.datetime],
    key: str = US_KEY,
    page_size: int = 3,
    base_url: str = BASE,
    attempts: int = 4,
) -> MarketplaceClient:
    policy = RetryPolicy(attempts=attempts, sleep=sleeps, rng=random.Random(5))
    return MarketplaceClient(
        http,
        base_url=base_url,
        code="us",
        subscription_key=key,
        retry=policy,
        now=clock,
        page_size=page_size,
    )


@pytest.fixture
def client(http: httpx.AsyncClient, sandbox: Sandbox, sleeps: Sleeps) -> MarketplaceClient:
    return make_client(http, sleeps=sleeps, clock=sandbox.clock)
