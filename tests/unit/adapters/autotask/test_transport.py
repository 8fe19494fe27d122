"""The Autotask wire rules against a scripted Autotask: headers, zone discovery, id-walking
pages, error mapping, retries, the thread limit and unknown outcomes."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import httpx
import pytest

from psasync.adapters.autotask import (
    AutotaskAuthError,
    AutotaskBudgetSpent,
    AutotaskBusy,
    AutotaskClient,
    AutotaskDataError,
    AutotaskError,
    AutotaskNotFound,
    CredentialsError,
    discover_zone,
)
from psasync.adapters.autotask.transport import entity_of
from psasync.adapters.http import OutcomeUnknown, RetryPolicy, VendorNotFound
from tests.unit.adapters.autotask.fake import (
    CREDENTIALS,
    HEADERS,
    ZONE,
    FakeAutotask,
    no_sleep,
    psa_for,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def refuse(status: int, body: object, *, times: int = 10_000, method: str | None = None):  # type: ignore[no-untyped-def]
    left = [times]

    async def hook(request: httpx.Request) -> httpx.Response | None:
        if left[0] <= 0 or (method and request.method != method):
            return None
        left[0] -= 1
        return httpx.Response(status, json=body)

    return hook


async def test_every_call_carries_the_three_headers_and_goes_to_the_zone() -> None:
    fake = FakeAutotask()
    fake.add("Companies", id=5, companyName="Green Lane LLC", isActive=True)
    psa, http = psa_for(fake)
    async with http:
        await psa.check_credentials()
        await psa.company(5)
        await psa.companies()
    assert len(fake.requests) == 3
    for request in fake.requests:
        assert str(request.url).startswith(f"{ZONE}v1.0/")
        assert {name: request.headers[name] for name in HEADERS} == HEADERS
    assert fake.requests[2].headers["Content-Type"] == "application/json"
    assert "s3cret" not in repr(psa) and "TRACK-01" not in repr(CREDENTIALS)


async def test_the_zone_is_asked_of_zone_information_unless_configured() -> None:
    fake = FakeAutotask()
    fake.add("Companies", id=5, companyName="Green Lane LLC")
    unzoned = dataclasses.replace(CREDENTIALS, zone_url=None)
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
        client = await AutotaskClient.connect(http, unzoned, policy=RetryPolicy(sleep=no_sleep))
        await client.company(5)
        assert await discover_zone(http, CREDENTIALS) == ZONE  # configured: no call
    lookup, read = fake.requests
    assert str(lookup.url) == (
        "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
        "?user=api%40example.com"
    )
    assert "Secret" not in lookup.headers
    assert str(read.url) == f"{ZONE}v1.0/Companies/5"


def test_a_zone_url_must_be_https() -> None:
    with pytest.raises(CredentialsError):
        dataclasses.replace(CREDENTIALS, zone_url="http://webservices14.autotask.net/")
    with pytest.raises(CredentialsError):
        dataclasses.replace(CREDENTIALS, secret="")


async def test_queries_walk_ids_500_at_a_time_until_a_short_page() -> None:
    fake = FakeAutotask()
    for number in range(1, 1201):
        fake.add("Companies", id=number * 2, companyName=f"C{number:04}", isActive=True)
    psa, http = psa_for(fake)
    async with http:
        companies = await psa.companies()
    assert len(companies) == 1200
    bodies = [json.loads(request.content) for request in fake.requests]
    filters = [body["Filter"] for body in bodies]
    assert [f[-1] for f in filters] == [
        {"op": "gt", "field": "id", "value": after} for after in (0, 1000, 2000)
    ]
    first = bodies[0]
    assert first["MaxRecords"] == 500 and "id" in first["IncludeFields"]


async def test_a_page_that_does_not_move_on_is_an_error_not_a_loop() -> None:
    fake = FakeAutotask()
    items = [{"id": n, "companyName": f"C{n}"} for n in range(1, 501)]

    async def ignores_the_filter(request: httpx.Request) -> httpx.Response | None:
        return httpx.Response(200, json={"items": items}) if "query" in request.url.path else None

    fake.hooks.append(ignores_the_filter)
    psa, http = psa_for(fake)
    async with http:
        with pytest.raises(AutotaskDataError, match="rather than looping"):
            await psa.companies()
    assert len(fake.requests) == 2


async def test_a_500_with_errors_is_fatal_at_once_with_the_vendors_message() -> None:
    fake = FakeAutotask()
    message = "Value does not reference an existing entity for companyID"
    fake.hooks.append(refuse(500, {"errors": [message]}))
    psa, http = psa_for(fake)
    async with http:
        with pytest.raises(AutotaskError, match="existing entity") as caught:
            await psa.companies()
    assert caught.value.errors == (message,) and caught.value.status == 500
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, AutotaskAuthError), (403, AutotaskAuthError), (404, AutotaskNotFound)],
)
async def test_auth_and_missing_items_are_typed(status: int, kind: type[Exception]) -> None:
    fake = FakeAutotask()
    fake.hooks.append(refuse(status, {"errors": ["no"]}))
    psa, http = psa_for(fake)
    async with http:
        with pytest.raises(kind):
            await psa.company(5)
    assert len(fake.requests) == 1


async def test_an_unknown_id_is_vendor_not_found_whether_404_or_a_null_item() -> None:
    fake = FakeAutotask()

    async def null_item(request: httpx.Request) -> httpx.Response | None:
        return (
            httpx.Response(200, json={"item": None}) if "Services/9" in str(request.url) else None
        )

    fake.hooks.append(null_item)
    psa, http = psa_for(fake)
    async with http:
        with pytest.raises(VendorNotFound):
            await psa.company(404)
        with pytest.raises(VendorNotFound):
            await psa.catalog_item(9)


async def test_the_thread_limit_error_and_429_are_retried_with_backoff() -> None:
    fake = FakeAutotask()
    fake.add("Companies", id=5, companyName="Green Lane LLC")
    fake.hooks.append(refuse(500, {"errors": ["Itgenatr005: thread limit reached"]}, times=1))
    fake.hooks.append(refuse(429, {"errors": ["slow down"]}, times=1))
    sleeps: list[float] = []
    psa, http = psa_for(fake, sleeps=sleeps)
    async with http:
        assert (await psa.company(5)).name == "Green Lane LLC"
    assert len(fake.requests) == 3 and len(sleeps) == 2


async def test_a_create_refused_for_the_thread_limit_is_sent_again() -> None:
    fake = FakeAutotask()
    fake.hooks.append(
        refuse(500, {"errors": ["Itgenatr005"]}, times=1, method="POST"),
    )
    psa, http = psa_for(fake)
    async with http:
        charge = await psa.client.create_charge(7, {"contractID": 7, "name": "Setup"})
    assert charge == 1 and len(fake.entities["ContractCharges"]) == 1


async def test_a_thread_limit_that_never_lifts_is_busy() -> None:
    fake = FakeAutotask()
    fake.hooks.append(refuse(500, {"errors": ["Itgenatr005"]}))
    psa, http = psa_for(fake, attempts=2)
    async with http:
        with pytest.raises(AutotaskBusy, match="too many requests"):
            await psa.company(5)


async def test_a_spent_hourly_budget_is_reported_at_once() -> None:
    fake = FakeAutotask()
    fake.hooks.append(refuse(500, {"errors": ["Request threshold exceeded for this database"]}))
    psa, http = psa_for(fake)
    async with http:
        with pytest.raises(AutotaskBudgetSpent, match="hourly request budget"):
            await psa.company(5)
    assert len(fake.requests) == 1


async def test_a_dropped_post_is_an_unknown_outcome_and_never_sent_again() -> None:
    fake = FakeAutotask()

    async def drop(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST" and "Charges" in request.url.path:
            raise httpx.ReadError("connection reset", request=request)
        return None

    fake.hooks.append(drop)
    psa, http = psa_for(fake)
    async with http:
        with pytest.raises(OutcomeUnknown):
            await psa.client.create_charge(7, {"contractID": 7})
    assert [r.method for r in fake.requests] == ["POST"]


@pytest.mark.parametrize("status", [502, 504])
async def test_a_gateway_error_on_a_post_is_unknown_but_a_read_is_retried(status: int) -> None:
    fake = FakeAutotask()
    fake.add("Companies", id=5, companyName="Green Lane LLC")
    fake.hooks.append(refuse(status, {}, times=1, method="POST"))
    fake.hooks.append(refuse(status, {}, times=1, method="GET"))
    psa, http = psa_for(fake)
    async with http:
        with pytest.raises(OutcomeUnknown):
            await psa.client.create_charge(7, {"contractID": 7})
        assert (await psa.company(5)).id == 5


async def test_never_more_than_three_requests_per_entity_in_flight() -> None:
    fake = FakeAutotask(latency=0.01)
    fake.add("Companies", id=5, companyName="Green Lane LLC")
    fake.add("Services", id=9, name="Seat")
    psa, http = psa_for(fake)
    async with http:
        psa.client.catalog_ttl = 0
        reads = [psa.client.company(5) for _ in range(10)]
        reads += [psa.client.service(9) for _ in range(10)]
        await asyncio.gather(*reads)
    assert fake.most_in_flight == {"Companies": 3, "Services": 3}


def test_child_routes_count_as_their_own_entity() -> None:
    assert entity_of("Contracts/7/Services") == "ContractServices"
    assert entity_of("Contracts/7/ServiceAdjustments") == "ContractServiceAdjustments"
    assert entity_of("Companies/7/Notes") == "CompanyNotes"
    assert entity_of("ContractServiceUnits/query") == "ContractServiceUnits"
    assert entity_of("Contracts/7") == "Contracts"
