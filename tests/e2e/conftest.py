"""The whole product in-process: the app on a real database, the sandboxes behind its vendor
HTTP client, and API clients with their own cookie jars."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from psasync.adapters.connectwise import ConnectWiseClient, ConnectWiseSite
from psasync.adapters.http import RetryPolicy
from psasync.config import Settings
from psasync.domain.agreements import Addition
from psasync.sandbox.fixture import DEMO_FIXTURE, load_fixture
from psasync.sandbox.server import Sandbox, build_sandbox
from psasync.services import Services
from psasync.store import Database, SecretBox
from psasync.web.app import create_app

SANDBOX = "http://sandbox.test"
APP = "http://psasync.test"
SECRET = "an-e2e-test-secret-key-0123456789"
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)

NORTHWIND = {"username": "demo@northwind-it.example", "password": "northwind-demo"}
CONTOSO = {"username": "ops@contoso-cloud.example", "password": "contoso-demo"}
CONNECTWISE = {
    "siteUrl": SANDBOX,
    "companyId": "northwind",
    "publicKey": "demoPublicKey01",
    "privateKey": "demoPrivateKey01",
    "clientId": "5b1c2a6e-3f4d-4e8a-9c1b-7d2e6f8a9b0c",
}


async def _no_sleep(_seconds: float) -> None:
    return None


@dataclass
class World:
    sandbox: Sandbox
    services: Services
    app: Any
    vendor_http: httpx.AsyncClient

    def client(self) -> httpx.AsyncClient:
        """A new browser: its own cookies."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=APP)

    @asynccontextmanager
    async def login(self, who: dict[str, str] | None = None) -> AsyncIterator[httpx.AsyncClient]:
        async with self.client() as client:
            answer = await client.post(
                "/api/v1/auth/login", json={"marketplace": "us", **(who or NORTHWIND)}
            )
            assert answer.status_code == 200, answer.text
            # The documented API flow: the login answer's token rides on every later write.
            client.headers["X-CSRF-Token"] = answer.json()["csrfToken"]
            yield client

    @asynccontextmanager
    async def ready(self) -> AsyncIterator[httpx.AsyncClient]:
        """Logged in as Northwind, ConnectWise configured, Check Changes done."""
        async with self.login() as client:
            answer = await client.put("/api/v1/integrations/connectwise", json=CONNECTWISE)
            assert answer.status_code == 200, answer.text
            answer = await client.post("/api/v1/connectwise/check-changes")
            assert answer.status_code == 200, answer.text
            yield client

    async def additions(self, agreement_id: int) -> list[Addition]:
        """What ConnectWise holds, read around psasync."""
        site = ConnectWiseSite(
            site_url=SANDBOX,
            company_id="northwind",
            public_key="demoPublicKey01",
            private_key="demoPrivateKey01",
            client_id=CONNECTWISE["clientId"],
        )
        connectwise = ConnectWiseClient(self.vendor_http, site)
        return await connectwise.additions(agreement_id)


async def task_id(client: httpx.AsyncClient, order_number: str) -> int:
    answer = await client.get("/api/v1/connectwise/tasks", params={"q": order_number})
    (item,) = answer.json()["items"]
    return int(item["id"])


@pytest.fixture
async def world(database: Database) -> AsyncIterator[World]:
    sandbox = build_sandbox(load_fixture(DEMO_FIXTURE))
    vendor_http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url=SANDBOX
    )
    settings = Settings.model_validate(
        {
            "database_url": database.url,
            "secret_key": SECRET,
            "marketplaces": [
                {
                    "code": "us",
                    "name": "Cloud Marketplace US",
                    "url": f"{SANDBOX}/marketplace/us",
                    "subscriptionKey": "demo-us-gateway-key",
                }
            ],
            "check_lookback_days": 31,
        }
    )
    services = Services(
        settings=settings,
        db=database,
        http=vendor_http,
        secret_box=SecretBox(SECRET),
        now=lambda: NOW,
        retry=RetryPolicy(sleep=_no_sleep),
    )
    app = create_app(settings, services=services)
    yield World(sandbox=sandbox, services=services, app=app, vendor_http=vendor_http)
    await vendor_http.aclose()
