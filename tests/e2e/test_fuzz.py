"""Hostile input for every route of the app: never a 5xx, and a refused request (4xx) changes
nothing stored.

The routes are read from the app itself, so a new route is fuzzed as soon as it exists: its
path parameters, query parameters (FastAPI's own list) and body (a known valid body mutated, or
random JSON or form fields) are drawn by Hypothesis; the headers vary the Content-Type, the
CSRF token and the Origin. Before and after each request the database's tables are read whole.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.routing import Mount, Route

from psasync.store.models import Base, MappingSource
from tests.e2e.conftest import APP, CONNECTWISE, NORTHWIND, World

pytestmark = pytest.mark.anyio

# Values that once broke something somewhere: huge and negative numbers, exponents, NUL,
# surrogates, emoji, traversal, markup, header-breaking text.
NASTY = [
    "",
    " ",
    "\u0000",
    "\ud800",
    "\U0001f600",
    "0",
    "-1",
    "2147483648",
    "9223372036854775808",
    "99999999999999999999",
    "1E+1000000000",
    "-1e-1000000000",
    "NaN",
    "Infinity",
    "1.0000001",
    "１２",
    "²",
    "../../etc/passwd",
    "javascript:alert(1)",
    "file:///etc/passwd",
    "http://127.0.0.1:99999/",
    "<script>alert(1)</script>",
    "a\r\nSet-Cookie: x=1",
    "x" * 5000,
    "9999-12-31",
    "0001-01-01",
]
TOKEN = "<the session's token>"
# Requests per route and run: a run takes some seconds on SQLite.
PER_ROUTE = 12
TEXT = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))
# Text a URL or a form can carry (HTTP has no way to send a lone surrogate there; JSON does).
SENDABLE = TEXT.map(lambda text: text.encode("utf-8", "replace").decode("utf-8"))
LEAF = st.one_of(
    TEXT,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
JSON = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
ADDITION = {
    "key": "k",
    "description": "d",
    "quantity": "1",
    "unitPrice": "1.00",
    "unitCost": "0.50",
    "effectiveDate": "2026-11-01",
    "cancelledDate": None,
    "billCustomer": "Billable",
    "taxableFlag": False,
}
# Valid bodies of the JSON routes; the fuzzer mutates one field (or drops it).
BODIES: dict[str, Any] = {
    "/api/v1/auth/login": {"marketplace": "us", **NORTHWIND},
    "/api/v1/integrations/connectwise": CONNECTWISE,
    "/api/v1/connectwise/tasks/{task_id}/preview": {
        "agreementId": 1201,
        "priceSource": "marketplace",
        "additions": [ADDITION],
    },
    "/api/v1/connectwise/tasks/{task_id}/sync": {"agreementId": 1201, "additions": [ADDITION]},
    "/api/v1/connectwise/mappings/customers": [{"customerId": "1000048531", "companyId": 260}],
    "/api/v1/connectwise/mappings/products": [
        {"mpn": "M365-BUS-STD", "catalogItemId": 301, "setupCatalogItemId": 306}
    ],
    "/api/v1/connectwise/automation": {
        "schedule": {"every": "1d", "at": "06:30", "timezone": "Europe/Berlin"},
        "autoSync": {
            "orderTypes": ["sales", "change"],
            "priceSource": "marketplace",
            "allowCredits": False,
            "maxAmount": "500.00",
        },
        "notify": {
            "emails": ["ops@northwind-it.example"],
            "webhookUrl": "https://hooks.example.com/psasync",
        },
        "marketplaceUser": NORTHWIND,
    },
    "/api/v1/connectwise/tasks/sync-bulk": {
        "filter": {"status": "new", "orderType": "change", "q": "Green"},
        "agreement": "auto",
        "priceSource": "marketplace",
    },
    "/api/v1/connectwise/reconciliation": {
        "customerIds": ["1000048560"],
        "priceSource": "marketplace",
    },
    "/api/v1/connectwise/reconciliation/fix": {
        "items": ["0123456789ab"],
        "priceSource": "marketplace",
        "effective": "nextPeriod",
    },
    "/api/v1/integrations/autotask": {
        "username": "psasync-api@fabrikam-msp.example",
        "secret": "demo-Autotask-Secret-2",
        "integrationCode": "DEMO-PSASYNC-FABRIKAM",
        "zoneUrl": None,
        "switch": False,
    },
}
# Every ConnectWise endpoint answers under /api/v1/autotask too (DESIGN §11), the same bodies.
BODIES.update(
    {
        path.replace("/api/v1/connectwise/", "/api/v1/autotask/", 1): body
        for path, body in list(BODIES.items())
        if path.startswith("/api/v1/connectwise/")
    }
)
# Fields the page forms read.
FORM_FIELDS = [
    "site_url",
    "company_id",
    "public_key",
    "private_key",
    "client_id",
    "customer_id",
    "catalog_item_id",
    "setup_catalog_item_id",
    "mpn",
    "agreement_id",
    "price_source",
    "intent",
    "back",
    "username",
    "password",
    "marketplace",
    "next",
    "task_id",
    "scope",
    "status",
    "type",
    "q",
    # The automation settings form.
    "every",
    "at",
    "timezone",
    "order_types",
    "allow_credits",
    "max_amount",
    "emails",
    "webhook_url",
    # The reconciliation page's filters and fix form.
    "customerId",
    "kind",
    "item_id",
    "all_kind",
    "effective",
    # The Autotask settings form.
    "secret",
    "integration_code",
    "zone_url",
    "switch",
    *(f"additions-0-{name}" for name in ["key", *ADDITION]),
]
# Columns that cache what a vendor said (written on first read, whatever the answer): not a
# change a request makes.
CACHES = {("sync_tasks", "subscription_json")}
CONTENT_TYPES = [
    None,
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "text/plain",
    "application/octet-stream",
    "application/json; charset=latin-1",
]


def app_routes(app: Any) -> list[tuple[str, str, Any]]:
    """(method, path, route) of every route the app answers, static files aside."""
    return sorted(_flat(app.routes, prefix=""), key=lambda found: found[:2])


def _flat(routes: list[Any], *, prefix: str) -> list[tuple[str, str, Any]]:
    found = []
    for route in routes:
        if isinstance(route, Mount):
            continue
        included = getattr(route, "original_router", None)  # a router included in the app
        if included is not None:
            found += _flat(included.routes, prefix=prefix + route.include_context.prefix)
            continue
        assert isinstance(route, Route), f"a route the fuzzer does not know how to call: {route}"
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((method, prefix + route.path, route))
    return found


def query_names(route: Any) -> list[str]:
    if not isinstance(route, APIRoute):
        return []
    return [param.alias for param in route.dependant.query_params]


def mutated(body: Any, data: st.DataObject) -> Any:
    """``body`` with one value (at any depth) replaced by a hostile one, or dropped."""
    if isinstance(body, dict) and body and data.draw(st.booleans()):
        name = data.draw(st.sampled_from(sorted(body)))
        changed = dict(body)
        if data.draw(st.integers(0, 4)) == 0:
            del changed[name]
        else:
            changed[name] = mutated(body[name], data)
        return changed
    if isinstance(body, list) and body and data.draw(st.booleans()):
        return [mutated(body[0], data), *body[1:]]
    return data.draw(LEAF)


def request_of(
    data: st.DataObject, route: tuple[str, str, Any], *, task_ids: list[int], token: str
) -> dict[str, Any]:
    method, path, route = route
    task = data.draw(st.one_of(st.sampled_from([str(t) for t in task_ids]), TEXT))
    url = path.replace("{task_id}", quote(task.encode("utf-8", "surrogatepass"), safe="") or "1")
    job = data.draw(st.one_of(st.sampled_from(["1", "2"]), TEXT))
    url = url.replace("{job_id}", quote(job.encode("utf-8", "surrogatepass"), safe="") or "1")
    names = query_names(route) + ["x"]
    params = data.draw(st.dictionaries(st.sampled_from(names), SENDABLE, max_size=3))
    headers = {"X-CSRF-Token": data.draw(st.sampled_from([token, token, token, "", "guess"]))}
    if data.draw(st.integers(0, 9)) == 0:
        headers["Origin"] = data.draw(st.sampled_from([APP, "https://evil.example", "null"]))
    if data.draw(st.booleans()):
        headers["HX-Request"] = "true"
    request: dict[str, Any] = {
        "method": method,
        "route": path,
        "url": url,
        "params": params,
        "headers": headers,
    }
    if method == "GET":
        return request
    kind = data.draw(st.sampled_from(["template", "json", "form", "raw"]))
    if kind in ("template", "json"):
        body = mutated(BODIES[path], data) if kind == "template" and path in BODIES else None
        # json.dumps escapes lone surrogates ("\\ud800"), as a hostile client may send them.
        request["content"] = json.dumps(body or data.draw(JSON)).encode("ascii")
        headers["Content-Type"] = "application/json"
    elif kind == "form":
        fields = data.draw(st.dictionaries(st.sampled_from(FORM_FIELDS), SENDABLE, max_size=6))
        request["data"] = {**fields, "csrf_token": headers["X-CSRF-Token"]}
    else:
        request["content"] = data.draw(st.binary(max_size=64))
        content_type = data.draw(st.sampled_from(CONTENT_TYPES))
        if content_type:
            headers["Content-Type"] = content_type
    return request


async def snapshot(world: World) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every psasync table."""
    rows = {}
    async with world.services.db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) not in CACHES]
            query = select(*columns)
            if "source" in table.columns:  # automatic matches are found, not asked for
                query = query.where(table.columns["source"] != MappingSource.AUTOMATIC)
            result = await connection.execute(query)
            rows[table.name] = sorted((tuple(row) for row in result), key=repr)
    return rows


def changes(
    before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]
) -> dict[str, Any]:
    """The rows that differ, table by table: (gone, new)."""
    found = {}
    for table, rows in after.items():
        gone = [row for row in before[table] if row not in rows]
        new = [row for row in rows if row not in before[table]]
        if gone or new:
            found[table] = (gone, new)
    return found


@asynccontextmanager
async def fuzz_client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """A browser that sees 500s as answers (the test checks them) instead of exceptions."""
    transport = httpx.ASGITransport(app=world.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=APP) as client:
        yield client


async def logged_in(client: httpx.AsyncClient) -> str:
    """The session's token, logging in again when a fuzzed logout ended the session."""
    answer = await client.get("/api/v1/auth/session")
    if answer.status_code == 200:
        return str(answer.json()["csrfToken"])
    answer = await client.post("/api/v1/auth/login", json={"marketplace": "us", **NORTHWIND})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["csrfToken"])


async def prepared(world: World) -> list[int]:
    """ConnectWise configured and the demo's tasks created; their ids."""
    async with world.ready() as client:
        answer = await client.get("/api/v1/connectwise/tasks", params={"limit": 500})
        return [item["id"] for item in answer.json()["items"]]


def test_every_route_is_fuzzed_with_a_body_when_it_takes_json() -> None:
    """A JSON route without a known valid body is fuzzed with random JSON only: name it here."""
    from psasync.config import Settings
    from psasync.web.app import create_app

    app = create_app(
        Settings.model_validate({"secret_key": "s" * 32, "database_url": "sqlite+aiosqlite://"})
    )
    for _method, path, route in app_routes(app):
        if isinstance(route, APIRoute) and route.body_field is not None:
            assert path in BODIES, f"add a valid body for {path} to BODIES"


def drawn_requests(routes: list[tuple[str, str, Any]], task_ids: list[int]) -> list[Any]:
    """Hypothesis draws the requests, :data:`PER_ROUTE` for each route (``TOKEN`` stands for
    the session's token); they are sent afterwards, on the app's event loop (no shrinking:
    a failure names its request)."""
    drawn: list[dict[str, Any]] = []
    for route in routes:
        drawn.extend(_drawn_for(route, task_ids))
    return drawn


def _drawn_for(route: tuple[str, str, Any], task_ids: list[int]) -> list[dict[str, Any]]:
    drawn: list[dict[str, Any]] = []

    @settings(
        max_examples=PER_ROUTE,
        phases=[Phase.generate],
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def draw(data: st.DataObject) -> None:
        drawn.append(request_of(data, route, task_ids=task_ids, token=TOKEN))

    draw()
    return drawn


def with_token(value: Any, token: str) -> Any:
    if value == TOKEN:
        return token
    if isinstance(value, dict):
        return {name: with_token(item, token) for name, item in value.items()}
    return value


async def test_no_input_answers_5xx_or_changes_anything_when_refused(world: World) -> None:
    task_ids = await prepared(world)
    routes = app_routes(world.app)
    requests = drawn_requests(routes, task_ids)
    assert {(r["method"], r["route"]) for r in requests} == {(m, p) for m, p, _ in routes}, (
        "every route drawn at least once"
    )
    async with fuzz_client(world) as client:
        for drawn in requests:
            token = await logged_in(client)
            request = {k: with_token(v, token) for k, v in drawn.items() if k != "route"}
            before = await snapshot(world)
            answer = await client.request(**request)
            assert answer.status_code < 500, (request, answer.status_code, answer.text[:500])
            if 400 <= answer.status_code < 500:
                assert changes(before, await snapshot(world)) == {}, (request, answer.text[:300])
