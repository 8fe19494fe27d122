"""A small ConnectWise world, the emulator serving it, and clients pointed at it."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from psasync.adapters.connectwise import ConnectWiseClient, ConnectWiseSite
from psasync.adapters.http import RetryPolicy
from psasync.sandbox.connectwise import (
    ConnectWiseFixture,
    connectwise_error_body,
    create_connectwise_app,
)
from psasync.sandbox.faults import CallCounter, FaultInjector, FaultMiddleware, FaultSettings
from psasync.sandbox.fixture import SandboxFixture
from psasync.sandbox.server import Sandbox, build_sandbox

BASE = "http://cw.test"
API = f"{BASE}/v4_6_release/apis/3.0"
COMPANY_ID, PUBLIC_KEY, PRIVATE_KEY = "northwind", "pub-key-1", "very-secret-private-key"
CLIENT_ID = "5b1c2a6e-3f4d-4e8a-9c1b-7d2e6f8a9b0c"

FIXTURE: dict[str, Any] = {
    "credentials": [
        {
            "companyId": COMPANY_ID,
            "publicKey": PUBLIC_KEY,
            "privateKey": PRIVATE_KEY,
            "clientId": CLIENT_ID,
        }
    ],
    "companies": [
        {"id": 250, "identifier": "GreenLane", "name": "Green Lane LLC"},
        {"id": 251, "identifier": "Bluebird", "name": "Bluebird Dental"},
        {"id": 252, "identifier": "Cedar", "name": 'Cedar "Ridge" Architects'},
    ],
    "currencies": [
        {"id": 1, "currencyIdentifier": "USD", "name": "US Dollar", "numberOfDecimals": 2},
        {"id": 2, "currencyIdentifier": "JPY", "name": "Yen", "numberOfDecimals": 0},
    ],
    "billingCycles": [
        {"id": 1, "identifier": "M", "name": "Monthly", "billingOptions": "Monthly"},
        {"id": 3, "identifier": "Y", "name": "Yearly", "billingOptions": "Yearly"},
    ],
    "agreementTypes": [{"id": 2, "name": "Cloud Licensing"}],
    "catalog": [
        {
            "id": 301,
            "identifier": "M365-BUS-STD",
            "description": "Microsoft 365 Business Standard",
            "customerDescription": "Microsoft 365 Business Standard (per user)",
            "price": "13.20",
            "cost": "10.00",
            "productClass": "Service",
            "manufacturerPartNumber": "CFQ7TTC0LDPB",
        },
        {
            "id": 304,
            "identifier": "STOR-USAGE-GB",
            "description": "Cloud storage per GB",
            "price": "0.025",
            "cost": "0.012",
            "productClass": "NonInventory",
            "manufacturerPartNumber": "STOR-GB",
        },
        {
            "id": 390,
            "identifier": "M365-BUNDLE",
            "description": "Microsoft 365 starter bundle",
            "price": "99.00",
            "cost": "60.00",
            "productClass": "Bundle",
            "manufacturerPartNumber": "CFQ7TTC0LDPB",
        },
    ],
    "agreements": [
        {
            "id": 1201,
            "name": "Green Lane - Managed Cloud",
            "type": {"id": 2},
            "company": {"id": 250},
            "billingCycle": {"id": 1},
            "currency": {"id": 1},
            "startDate": "2026-01-01",
            "billStartDate": "2026-01-01",
            "agreementStatus": "Active",
            "cancelledFlag": False,
            "prorateFlag": False,
        },
        {
            "id": 1202,
            "name": "Green Lane - Annual",
            "type": {"id": 2},
            "company": {"id": 250},
            "billingCycle": {"id": 3},
            "startDate": "2025-06-01T00:00:00Z",
            "agreementStatus": "Cancelled",
            "cancelledFlag": True,
            "prorateFlag": True,
        },
        {
            "id": 1211,
            "name": "Bluebird - Yen",
            "type": {"id": 2},
            "company": {"id": 251},
            "billingCycle": {"id": 1},
            "currency": {"id": 2},
            "startDate": "2025-06-01",
            "billStartDate": "2025-06-01",
        },
    ],
    "additions": [
        {
            "id": 9001,
            "agreementId": 1201,
            "product": {"id": 301},
            "quantity": 10,
            "unitPrice": "12.50",
            "unitCost": "10.00",
            "billCustomer": "Billable",
            "effectiveDate": "2026-01-01",
            "description": "Microsoft 365 Business Standard",
            "invoiceDescription": "Microsoft 365 Business Standard",
        },
        {
            "id": 9002,
            "agreementId": 1201,
            "product": {"id": 304},
            "quantity": "1.5",
            "unitPrice": "0.025",
            "unitCost": "0.012",
            "billCustomer": "DoNotBill",
            "effectiveDate": "2026-02-01",
            "cancelledDate": "2026-02-28",
            "taxableFlag": True,
            "description": "Storage [psasync task:3:line1:one_time]",
            "invoiceDescription": "Cloud storage",
        },
    ],
}


def fixture_data(**changes: Any) -> dict[str, Any]:
    """A deep copy of the test world with some lists replaced."""
    return {**copy.deepcopy(FIXTURE), **changes}


def make_fixture(**changes: Any) -> ConnectWiseFixture:
    return ConnectWiseFixture.model_validate(fixture_data(**changes))


def site(**changes: str) -> ConnectWiseSite:
    values = {
        "site_url": BASE,
        "company_id": COMPANY_ID,
        "public_key": PUBLIC_KEY,
        "private_key": PRIVATE_KEY,
        "client_id": CLIENT_ID,
    }
    return ConnectWiseSite(**{**values, **changes})


def auth_headers() -> dict[str, str]:
    return site().headers()


@dataclass
class FakeSleep:
    """Records the delays a retry policy asks for; ``then`` runs after each (e.g. heals faults)."""

    delays: list[float] = field(default_factory=list)
    then: Callable[[], None] | None = None

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.then is not None:
            self.then()


def policy(sleep: FakeSleep, *, attempts: int = 4) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, sleep=sleep, rng=random.Random(5))


@dataclass
class Harness:
    """The emulator behind fault injection and call counting, like ``build_sandbox`` does."""

    fixture: ConnectWiseFixture = field(default_factory=make_fixture)
    faults: FaultInjector = field(default_factory=FaultInjector)
    calls: CallCounter = field(default_factory=CallCounter)
    sleep: FakeSleep = field(default_factory=FakeSleep)

    def __post_init__(self) -> None:
        self.app = FaultMiddleware(
            create_connectwise_app(self.fixture),
            faults=self.faults,
            calls=self.calls,
            error_body=connectwise_error_body,
        )

    def inject(self, **settings: Any) -> None:
        self.faults.configure(FaultSettings(**settings))

    def heal(self) -> None:
        self.faults.configure(FaultSettings())

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE)

    def client(self, http: httpx.AsyncClient, **options: Any) -> ConnectWiseClient:
        return ConnectWiseClient(http, site(), policy=policy(self.sleep), **options)


def whole_sandbox(**changes: Any) -> Sandbox:
    """The one sandbox server's app (control endpoints included) serving this world."""
    return build_sandbox(SandboxFixture(connectwise=make_fixture(**changes)))
