"""A scripted Autotask for the adapter's unit tests: in-memory entities behind the real paths,
filters evaluated as Autotask documents them, and hooks to break it (drop an answer, refuse)."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

import httpx

from psasync.adapters.autotask import AutotaskClient, AutotaskCredentials, AutotaskPsa, EntityGates
from psasync.adapters.http import RetryPolicy

ZONE = "https://webservices14.autotask.net/atservicesrest/"
CREDENTIALS = AutotaskCredentials(
    username="api@example.com", secret="s3cret", integration_code="TRACK-01", zone_url=ZONE
)
HEADERS = {"ApiIntegrationCode": "TRACK-01", "UserName": "api@example.com", "Secret": "s3cret"}
# Picklist numbers chosen unlike any default, so a hard-coded number would show.
PICKLISTS = {
    "contractType": {41: "Time and Materials", 47: "Recurring Service"},
    "status": {90: "Inactive", 91: "Active"},
    "contractPeriodType": {60: "Monthly", 61: "Quarterly", 62: "Semi-Annual", 63: "Yearly"},
}
Hook = Callable[[httpx.Request], Awaitable[httpx.Response | None]]


def matches(item: dict[str, Any], condition: dict[str, Any]) -> bool:
    op = condition["op"]
    if op in ("and", "or"):
        results = [matches(item, inner) for inner in condition["items"]]
        return all(results) if op == "and" else any(results)
    value, wanted = item.get(condition["field"]), condition.get("value")
    wanted = cast(Any, wanted)
    if op == "exist":
        return value not in (None, "")
    if op == "in":
        return value in wanted
    if op == "contains":
        return isinstance(value, str) and str(wanted).lower() in value.lower()
    if value is None:
        return False
    checks: dict[str, Callable[[Any, Any], bool]] = {
        "eq": lambda a, b: a == b,
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    return checks[op](value, wanted)


@dataclass
class FakeAutotask:
    entities: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    # Adjustments applied by the POST (after the hooks let it through).
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    latency: float = 0.0
    in_flight: dict[str, int] = field(default_factory=dict)
    most_in_flight: dict[str, int] = field(default_factory=dict)

    def add(self, entity: str, **item: Any) -> dict[str, Any]:
        self.entities.setdefault(entity, []).append(item)
        return item

    def next_id(self, entity: str) -> int:
        return max((int(i["id"]) for i in self.entities.get(entity, [])), default=0) + 1

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for hook in list(self.hooks):
            answer = await hook(request)
            if answer is not None:
                return answer
        parts = request.url.path.split("/v1.0/")[-1].strip("/").split("/")
        key = parts[0]
        self.in_flight[key] = self.in_flight.get(key, 0) + 1
        self.most_in_flight[key] = max(self.most_in_flight.get(key, 0), self.in_flight[key])
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            return self.route(request, parts)
        finally:
            self.in_flight[key] -= 1

    def route(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        body: Any = json.loads(request.content) if request.content else None
        if parts[-1] == "zoneInformation":
            return httpx.Response(200, json={"zoneName": "Z14", "url": ZONE, "ci": 1})
        if parts[-2:] == ["entityInformation", "fields"]:
            return httpx.Response(200, json={"fields": self.fields()})
        if parts[-1] == "query":
            return httpx.Response(200, json={"items": self.query(parts[0], body)})
        if request.method == "GET" and len(parts) == 2:
            found = [i for i in self.entities.get(parts[0], []) if i["id"] == int(parts[1])]
            if not found:
                return httpx.Response(404, json={"errors": ["not found"]})
            return httpx.Response(200, json={"item": found[0]})
        if parts[0] == "Contracts" and parts[-1] == "ServiceAdjustments":
            self.adjust(body)
            return httpx.Response(200, json={"itemId": len(self.adjustments)})
        if parts[0] == "Contracts" and parts[2] == "Charges" and request.method == "POST":
            item = self.add("ContractCharges", id=self.next_id("ContractCharges"), **body)
            return httpx.Response(200, json={"itemId": item["id"]})
        if parts[0] == "Contracts" and request.method == "PATCH":
            (item,) = [i for i in self.entities[f"Contract{parts[2]}"] if i["id"] == body["id"]]
            item.update(body)
            return httpx.Response(200, json={"itemId": item["id"]})
        return httpx.Response(405, json={"Message": f"{request.method} is not supported"})

    def fields(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "isPickList": True,
                "picklistValues": [
                    {"value": str(v), "label": label, "isActive": True}
                    for v, label in values.items()
                ],
            }
            for name, values in PICKLISTS.items()
        ] + [{"name": "contractName", "isPickList": False}]

    def query(self, entity: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        found = [
            i for i in self.entities.get(entity, []) if all(matches(i, c) for c in body["Filter"])
        ]
        return sorted(found, key=lambda i: i["id"])[: body["MaxRecords"]]

    def adjust(self, body: dict[str, Any]) -> None:
        """Units from the effective date move by ``unitChange``: one open row per change."""
        self.adjustments.append(body)
        services = [
            s
            for s in self.entities.setdefault("ContractServices", [])
            if s["contractID"] == body["contractID"] and s["serviceID"] == body["serviceID"]
        ]
        if not services:
            services = [
                self.add(
                    "ContractServices",
                    id=self.next_id("ContractServices"),
                    contractID=body["contractID"],
                    serviceID=body["serviceID"],
                    unitPrice=body.get("adjustedUnitPrice"),
                    unitCost=body.get("adjustedUnitCost"),
                )
            ]
        rows = [
            r
            for r in self.entities.get("ContractServiceUnits", [])
            if r["contractServiceID"] == services[0]["id"]
        ]
        start = body["effectiveDate"]
        before = max(
            (r for r in rows if r["startDate"] <= start),
            key=lambda r: (r["startDate"], r["id"]),
            default=None,
        )
        units = Decimal(before["units"] if before else 0) + body["unitChange"]
        for later in rows:  # an adjustment moves every later row too
            if later["startDate"] > start:
                later["units"] += body["unitChange"]
        self.add(
            "ContractServiceUnits",
            id=self.next_id("ContractServiceUnits"),
            contractID=body["contractID"],
            contractServiceID=services[0]["id"],
            serviceID=body["serviceID"],
            startDate=start,
            endDate="2099-12-31T00:00:00",  # open: rows are not split per period here
            units=int(units),
            price=body.get("adjustedUnitPrice"),
            cost=body.get("adjustedUnitCost"),
        )


async def no_sleep(_: float) -> None:
    return None


def psa_for(
    fake: FakeAutotask, *, attempts: int = 3, sleeps: list[float] | None = None
) -> tuple[AutotaskPsa, httpx.AsyncClient]:
    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    http = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    policy = RetryPolicy(attempts=attempts, sleep=sleep, rng=random.Random(5))
    client = AutotaskClient(http, CREDENTIALS, policy=policy, gates=EntityGates())
    return AutotaskPsa(client), http
