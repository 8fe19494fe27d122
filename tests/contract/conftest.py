"""The PSA implementations the contract suite runs against: ConnectWise and Autotask, each on its
sandbox."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from psasync.adapters.autotask import AutotaskClient, AutotaskCredentials, AutotaskPsa
from psasync.adapters.connectwise import ConnectWiseClient, ConnectWisePsa, ConnectWiseSite
from psasync.adapters.http import RetryPolicy
from psasync.sandbox.faults import FaultSettings
from psasync.sandbox.fixture import AUTOTASK_DEMO_FIXTURE, DEMO_FIXTURE, load_fixture
from psasync.sandbox.server import build_sandbox
from tests.contract.psa import PsaUnderTest

SANDBOX = "http://sandbox.test"
SITE = ConnectWiseSite(
    site_url=SANDBOX,
    company_id="northwind",
    public_key="demoPublicKey01",
    private_key="demoPrivateKey01",
    client_id="5b1c2a6e-3f4d-4e8a-9c1b-7d2e6f8a9b0c",
)
AUTOTASK = AutotaskCredentials(
    username="psasync-api@northwind-it.example",
    secret="demo-Autotask-Secret-1",
    integration_code="DEMO-PSASYNC-TRACKING-ID",
)


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["connectwise", "autotask"])
async def psa(request: pytest.FixtureRequest) -> AsyncIterator[PsaUnderTest]:
    """Each PSA implementation, on a fresh sandbox seeded with its demo fixture."""
    implementations = {"connectwise": _connectwise, "autotask": _autotask}
    async for under_test in implementations[request.param]():
        yield under_test


async def _connectwise() -> AsyncIterator[PsaUnderTest]:
    sandbox = build_sandbox(load_fixture(DEMO_FIXTURE))
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=SANDBOX) as http:
        policy = RetryPolicy(sleep=_no_sleep)

        def port(site: ConnectWiseSite) -> ConnectWisePsa:
            return ConnectWisePsa(ConnectWiseClient(http, site, policy=policy, create_attempts=1))

        async def lose_next_answer() -> None:
            sandbox.faults.configure(FaultSettings(rate_drop=1, methods=frozenset({"POST"})))

        yield PsaUnderTest(
            port=port(SITE),
            refused=port(dataclasses.replace(SITE, private_key="not-the-key")),
            company_id=250,
            company_name="Green Lane LLC",
            agreement_id=1201,
            currency="USD",
            item_id=301,
            item_mpn="M365-BUS-STD",
            item_word="Business Standard",
            day=dt.date(2026, 11, 15),
            invoiced_agreement_id=1311,
            invoiced_through=dt.date(2026, 11, 24),
            lose_next_answer=lose_next_answer,
        )


async def _autotask() -> AsyncIterator[PsaUnderTest]:
    sandbox = build_sandbox(load_fixture(AUTOTASK_DEMO_FIXTURE))
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=SANDBOX) as http:
        policy = RetryPolicy(sleep=_no_sleep)

        async def port(credentials: AutotaskCredentials) -> AutotaskPsa:
            client = await AutotaskClient.connect(
                http, credentials, discovery_root=SANDBOX, policy=policy
            )
            return AutotaskPsa(client)

        async def lose_next_answer() -> None:
            # Writes go to the contract's child routes; queries (POST …/query) stay answered.
            settings = FaultSettings(
                rate_drop=1,
                methods=frozenset({"POST"}),
                path_prefix="/atservicesrest/v1.0/Contracts/",
            )
            sandbox.faults.configure(settings)

        yield PsaUnderTest(
            port=await port(AUTOTASK),
            refused=await port(dataclasses.replace(AUTOTASK, secret="not-the-secret")),
            company_id=29683481,
            company_name="Green Lane LLC",
            agreement_id=1001,
            currency="USD",
            item_id=503,
            item_mpn="BKP-CLOUD-500",
            item_word="Backup",
            day=dt.date(2026, 11, 15),
            invoiced_agreement_id=1031,
            invoiced_through=dt.date(2026, 11, 24),
            lose_next_answer=lose_next_answer,
        )
