"""The Autotask client psasync uses: the entities a sync reads and writes, as Autotask has them.

    client = await AutotaskClient.connect(http, credentials)
    rows = await client.unit_rows(contract_ids=[7])
    await client.post_adjustment(7, service_id=301, effective=day, change=Decimal(2))

Items come back as the vendor's JSON objects (``mapping`` turns them into domain values);
queries ask only for the fields psasync reads and walk ids (see ``transport``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import httpx

from psasync.adapters.autotask.errors import AutotaskDataError, AutotaskNotFound
from psasync.adapters.autotask.mapping import read_date, read_decimal, vendor_date
from psasync.adapters.autotask.picklists import Picklists, label_key
from psasync.adapters.autotask.transport import (
    MAX_RECORDS,
    AutotaskApi,
    EntityGates,
    Filter,
    JsonObject,
)
from psasync.adapters.autotask.zone import DISCOVERY_ROOT, AutotaskCredentials, discover_zone
from psasync.adapters.http import RetryPolicy

COMPANIES, CONTRACTS, SERVICES, CURRENCIES = "Companies", "Contracts", "Services", "Currencies"
CONTRACT_SERVICES, UNITS, CHARGES = "ContractServices", "ContractServiceUnits", "ContractCharges"
COMPANY_FIELDS = ("companyName", "companyNumber", "isActive", "currencyID")
CONTRACT_FIELDS = (
    "contractName",
    "companyID",
    "contractType",
    "status",
    "contractPeriodType",
    "startDate",
    "endDate",
)
SERVICE_FIELDS = (
    "name",
    "description",
    "invoiceDescription",
    "unitPrice",
    "unitCost",
    "periodType",
    "sku",
    "catalogNumberPartNumber",
    "isActive",
)
CONTRACT_SERVICE_FIELDS = (
    "contractID",
    "serviceID",
    "unitPrice",
    "unitCost",
    "invoiceDescription",
    "internalDescription",
)
UNIT_FIELDS = (
    "contractID",
    "contractServiceID",
    "serviceID",
    "startDate",
    "endDate",
    "units",
    "price",
    "cost",
    "approveAndPostDate",
)
CHARGE_FIELDS = (
    "contractID",
    "name",
    "description",
    "datePurchased",
    "unitQuantity",
    "unitPrice",
    "unitCost",
    "isBillableToCompany",
)
CURRENCY_FIELDS = ("name", "description", "isInternalCurrency", "isActive")
RECURRING_SERVICE = "Recurring Service"


def eq(field: str, value: object) -> Filter:
    return {"op": "eq", "field": field, "value": value}


def contains(field: str, value: str) -> Filter:
    return {"op": "contains", "field": field, "value": value}


def any_of(*items: Filter) -> Filter:
    return {"op": "or", "items": list(items)}


def in_(field: str, values: Sequence[int]) -> Filter:
    return {"op": "in", "field": field, "value": list(values)}


def chunks(values: Iterable[int], size: int = MAX_RECORDS) -> list[list[int]]:
    """Distinct values, sorted, in lists of at most ``size`` (an ``in`` takes ≤500)."""
    wanted = sorted(set(values))
    return [wanted[start : start + size] for start in range(0, len(wanted), size)]


class AutotaskClient:
    """Typed Autotask calls on an injected ``httpx.AsyncClient``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: AutotaskCredentials,
        *,
        zone_url: str | None = None,
        policy: RetryPolicy | None = None,
        gates: EntityGates | None = None,
        catalog_ttl: float = 60.0,
    ) -> None:
        zone = zone_url or credentials.zone_url
        if zone is None:
            raise ValueError("an Autotask client needs its zone: use AutotaskClient.connect")
        self.credentials = credentials
        self.policy = policy or RetryPolicy()
        self.api = AutotaskApi(http, credentials, zone_url=zone, policy=self.policy, gates=gates)
        self.picklists = Picklists(self.api)
        self.catalog_ttl = catalog_ttl
        self._catalog: dict[int, tuple[float, JsonObject]] = {}
        self._currencies: dict[int, JsonObject] | None = None

    @classmethod
    async def connect(
        cls,
        http: httpx.AsyncClient,
        credentials: AutotaskCredentials,
        *,
        discovery_root: str = DISCOVERY_ROOT,
        policy: RetryPolicy | None = None,
        gates: EntityGates | None = None,
    ) -> AutotaskClient:
        """A client for the API user's zone: the configured ``zone_url``, else asked."""
        zone = await discover_zone(http, credentials, root=discovery_root, policy=policy)
        return cls(http, credentials, zone_url=zone, policy=policy, gates=gates)

    def __repr__(self) -> str:
        return f"AutotaskClient({self.api.base_url!r}, user={self.credentials.username!r})"

    async def check_credentials(self) -> None:
        """One company read: proves the headers and that the API user may read companies."""
        await self.api.query_page(COMPANIES, [], fields=("companyName",), max_records=1)

    # Companies and currencies -----------------------------------------------------------------

    async def companies(self, filters: Sequence[Filter]) -> list[JsonObject]:
        return await self.api.query(COMPANIES, filters, fields=COMPANY_FIELDS)

    async def companies_by_id(self, ids: Iterable[int]) -> dict[int, JsonObject]:
        found: dict[int, JsonObject] = {}
        for chunk in chunks(ids):
            for item in await self.companies([in_("id", chunk)]):
                found[int(item["id"])] = item
        return found

    async def company(self, company_id: int) -> JsonObject:
        return await self.api.get_item(COMPANIES, company_id)

    async def currencies(self) -> dict[int, JsonObject]:
        """The database's currencies by id (read once per client)."""
        if self._currencies is None:
            items = await self.api.query(CURRENCIES, [], fields=CURRENCY_FIELDS)
            self._currencies = {int(item["id"]): item for item in items}
        return self._currencies

    # Contracts --------------------------------------------------------------------------------

    async def recurring_type(self) -> int:
        """The database's contractType value labelled "Recurring Service"."""
        return await self.picklists.value(CONTRACTS, "contractType", RECURRING_SERVICE)

    async def contracts(self, filters: Sequence[Filter]) -> list[JsonObject]:
        return await self.api.query(CONTRACTS, filters, fields=CONTRACT_FIELDS)

    async def contract(self, contract_id: int) -> JsonObject:
        return await self.api.get_item(CONTRACTS, contract_id)

    async def contract_labels(self, contract: JsonObject) -> tuple[bool, str | None, str | None]:
        """Whether the contract is Recurring Service, its period type and status labels."""
        kind = await self.picklists.field(CONTRACTS, "contractType")
        period = await self.picklists.field(CONTRACTS, "contractPeriodType")
        status = await self.picklists.field(CONTRACTS, "status")
        recurring = kind.label(contract.get("contractType")) or ""
        return (
            label_key(recurring) == label_key(RECURRING_SERVICE),
            period.label(contract.get("contractPeriodType")),
            status.label(contract.get("status")),
        )

    # Contract services, units and charges -----------------------------------------------------

    async def _of_contracts(
        self, entity: str, contract_ids: Iterable[int], fields: Sequence[str]
    ) -> list[JsonObject]:
        found: list[JsonObject] = []
        for chunk in chunks(contract_ids):
            found += await self.api.query(entity, [in_("contractID", chunk)], fields=fields)
        return found

    async def contract_services(self, contract_ids: Iterable[int]) -> list[JsonObject]:
        return await self._of_contracts(CONTRACT_SERVICES, contract_ids, CONTRACT_SERVICE_FIELDS)

    async def unit_rows(self, contract_ids: Iterable[int]) -> list[JsonObject]:
        return await self._of_contracts(UNITS, contract_ids, UNIT_FIELDS)

    async def posted_rows(self, contract_ids: Iterable[int]) -> list[JsonObject]:
        """The units rows already approved and posted (invoiced)."""
        found: list[JsonObject] = []
        posted = {"op": "exist", "field": "approveAndPostDate"}
        for chunk in chunks(contract_ids):
            found += await self.api.query(
                UNITS,
                [in_("contractID", chunk), posted],
                fields=("contractID", "endDate", "approveAndPostDate"),
            )
        return found

    async def charges(self, contract_ids: Iterable[int]) -> list[JsonObject]:
        return await self._of_contracts(CHARGES, contract_ids, CHARGE_FIELDS)

    async def charges_containing(self, contract_id: int, text: str) -> list[JsonObject]:
        filters = [eq("contractID", contract_id), contains("description", text)]
        return await self.api.query(CHARGES, filters, fields=CHARGE_FIELDS)

    async def contract_service(self, contract_id: int, line_id: int) -> JsonObject:
        """One contract service of ``contract_id``; ``AutotaskNotFound`` when not on it."""
        item = await self.api.get_item(CONTRACT_SERVICES, line_id)
        if item.get("contractID") != contract_id:
            raise AutotaskNotFound(
                f"Autotask contract {contract_id} has no contract service {line_id}", status=404
            )
        return item

    async def contract_service_for(self, contract_id: int, service_id: int) -> JsonObject | None:
        """The contract service billing ``service_id`` on the contract (the oldest), if any."""
        filters = [eq("contractID", contract_id), eq("serviceID", service_id)]
        items = await self.api.query(CONTRACT_SERVICES, filters, fields=CONTRACT_SERVICE_FIELDS)
        return items[0] if items else None

    async def unit_row_at(
        self, contract_id: int, service_id: int, day: dt.date
    ) -> JsonObject | None:
        """The units row of the service in force on ``day``: the latest starting on or before
        it (units hold until an adjustment or a new period row changes them)."""
        filters = [
            eq("contractID", contract_id),
            eq("serviceID", service_id),
            {"op": "lte", "field": "startDate", "value": vendor_date(day)},
        ]
        rows = await self.api.query(UNITS, filters, fields=UNIT_FIELDS)
        dated = [(read_date(row.get("startDate"), what="units startDate"), row) for row in rows]
        known = [(start, row) for start, row in dated if start is not None and start <= day]
        return max(known, key=lambda pair: (pair[0], int(pair[1]["id"])))[1] if known else None

    async def changes_after(
        self, contract_id: int, service_id: int, day: dt.date
    ) -> list[tuple[dt.date, Decimal]]:
        """Where the service's units change after ``day``: (first day, change), by date."""
        filters = [
            eq("contractID", contract_id),
            eq("serviceID", service_id),
            {"op": "gte", "field": "endDate", "value": vendor_date(day)},
        ]
        rows = await self.api.query(UNITS, filters, fields=UNIT_FIELDS)
        in_force: dict[dt.date, JsonObject] = {}  # the latest row per start date
        for row in sorted(rows, key=lambda row: int(row["id"])):
            in_force[read_date(row.get("startDate"), what="units startDate") or day] = row
        dated = sorted(in_force.items(), key=lambda pair: pair[0])
        changes: list[tuple[dt.date, Decimal]] = []
        previous: Decimal | None = None
        for start, row in dated:
            units = read_decimal(row.get("units"), what="units")
            if previous is not None and start > day and units != previous:
                changes.append((start, units - previous))
            previous = units
        return changes

    async def units_at(self, contract_id: int, service_id: int, day: dt.date) -> Decimal:
        """The units of ``service_id`` on the contract on ``day`` (0 when it has none)."""
        row = await self.unit_row_at(contract_id, service_id, day)
        return read_decimal(row.get("units"), what="units") if row else Decimal(0)

    async def post_adjustment(
        self,
        contract_id: int,
        *,
        service_id: int,
        effective: dt.date,
        change: Decimal,
        price: Decimal | None = None,
        cost: Decimal | None = None,
    ) -> None:
        """``POST /Contracts/{id}/ServiceAdjustments``: ``change`` units from ``effective``
        (Autotask creates the contract service when it is missing). Never repeated here."""
        if change != change.to_integral_value():
            raise AutotaskDataError(f"Autotask adjusts whole units only, not {change}")
        body: dict[str, Any] = {
            "contractID": contract_id,
            "serviceID": service_id,
            "effectiveDate": vendor_date(effective),
            "unitChange": int(change),
        }
        if price is not None:
            body["adjustedUnitPrice"] = price
        if cost is not None:
            body["adjustedUnitCost"] = cost
        await self.api.post(f"{CONTRACTS}/{contract_id}/ServiceAdjustments", body)

    async def set_invoice_description(self, contract_id: int, line_id: int, text: str) -> None:
        body = {"id": line_id, "invoiceDescription": text}
        await self.api.patch(f"{CONTRACTS}/{contract_id}/Services", body)

    async def create_charge(self, contract_id: int, body: JsonObject) -> int:
        return await self.api.create(f"{CONTRACTS}/{contract_id}/Charges", body)

    async def update_charge(self, contract_id: int, body: JsonObject) -> None:
        await self.api.patch(f"{CONTRACTS}/{contract_id}/Charges", body)

    async def delete_charge(self, contract_id: int, charge_id: int) -> bool:
        """Delete a charge; False when it was already gone (a repeated delete finds that)."""
        try:
            await self.api.delete(f"{CONTRACTS}/{contract_id}/Charges/{charge_id}")
        except AutotaskNotFound:
            return False
        return True

    # Services (the catalog) -------------------------------------------------------------------

    async def services(self, filters: Sequence[Filter]) -> list[JsonObject]:
        items = await self.api.query(SERVICES, filters, fields=SERVICE_FIELDS)
        now = time.monotonic()
        for item in items:
            self._catalog[int(item["id"])] = (now, item)
        return items

    async def service(self, service_id: int) -> JsonObject:
        """One Service, kept for ``catalog_ttl`` seconds."""
        cached = self._catalog.get(service_id)
        if cached is not None and time.monotonic() - cached[0] < self.catalog_ttl:
            return cached[1]
        item = await self.api.get_item(SERVICES, service_id)
        self._catalog[service_id] = (time.monotonic(), item)
        return item

    async def services_by_id(self, ids: Iterable[int]) -> dict[int, JsonObject]:
        """Services by id, those kept fresh from the cache and the rest in ``in`` queries."""
        now, wanted = time.monotonic(), set(ids)
        found = {
            i: c[1]
            for i in wanted
            if (c := self._catalog.get(i)) is not None and now - c[0] < self.catalog_ttl
        }
        for chunk in chunks(wanted - set(found)):
            for item in await self.services([in_("id", chunk)]):
                found[int(item["id"])] = item
        return found
