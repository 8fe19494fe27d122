"""Autotask as the use cases see a PSA: the PSA port (``services.ports.PsaPort``).

Agreements are Recurring Service contracts; lines are contract services (recurring, no key)
and contract charges (one-time, keyed in their description); catalog items are Services. Writes
are in :mod:`.writes`: units move only by service adjustments, whose outcome is decided by the
units at the effective date (:mod:`.adjustments`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal

from psasync.adapters.autotask.adjustments import (
    AdjustmentExpectation,
    AdjustmentOutcome,
    decide,
)
from psasync.adapters.autotask.client import (
    AutotaskClient,
    any_of,
    chunks,
    contains,
    eq,
    in_,
)
from psasync.adapters.autotask.errors import VENDOR
from psasync.adapters.autotask.keys import read_mark
from psasync.adapters.autotask.mapping import (
    catalog_identifier,
    currency_of,
    posted_through,
    to_agreement,
    to_catalog_item,
    to_charge_line,
    to_company,
    to_recurring_line,
)
from psasync.adapters.autotask.transport import JsonObject
from psasync.adapters.autotask.writes import Writer
from psasync.domain.agreements import Addition, Agreement, CatalogItem, Company
from psasync.domain.money import Currency
from psasync.domain.plan import Action, AdditionKind, PlannedAddition

ACTIVE = eq("isActive", True)


class AutotaskPsa:
    """One tenant's Autotask database behind the PSA port."""

    def __init__(self, client: AutotaskClient) -> None:
        self.client = client
        self.writer = Writer(client, find_line_by_key=self.find_line_by_key)

    def __repr__(self) -> str:
        return f"AutotaskPsa({self.client!r})"

    @property
    def vendor(self) -> str:
        return VENDOR

    async def check_credentials(self) -> None:
        await self.client.check_credentials()

    # Companies --------------------------------------------------------------------------------

    async def companies(self, *, name: str | None = None) -> list[Company]:
        filters = [eq("companyName", name)] if name is not None else []
        found = [to_company(item) for item in await self.client.companies(filters)]
        return sorted(found, key=lambda company: (company.name.casefold(), company.id))

    async def company(self, company_id: int) -> Company:
        return to_company(await self.client.company(company_id))

    async def find_companies(self, text: str, *, limit: int) -> list[Company]:
        filters = [ACTIVE]
        if text.strip():
            wanted = text.strip()
            filters.append(
                any_of(contains("companyName", wanted), contains("companyNumber", wanted))
            )
        found = [to_company(item) for item in await self.client.companies(filters)]
        return sorted(found, key=lambda company: (company.name.casefold(), company.id))[:limit]

    # Agreements -------------------------------------------------------------------------------

    async def agreements_of(
        self, company_id: int, *, default_currency: Currency
    ) -> list[Agreement]:
        return await self.agreements_of_companies([company_id], default_currency=default_currency)

    async def agreement(self, agreement_id: int, *, default_currency: Currency) -> Agreement:
        contract = await self.client.contract(agreement_id)
        (found,) = await self._agreements([contract], default_currency)
        return found

    async def agreements_of_companies(
        self, company_ids: Sequence[int], *, default_currency: Currency
    ) -> list[Agreement]:
        """Recurring Service contracts of the companies, 500 companies per query."""
        if not company_ids:
            return []
        recurring = await self.client.recurring_type()
        contracts: list[JsonObject] = []
        for chunk in chunks(company_ids):
            filters = [in_("companyID", chunk), eq("contractType", recurring)]
            contracts += await self.client.contracts(filters)
        return await self._agreements(contracts, default_currency)

    async def _agreements(
        self, contracts: Sequence[JsonObject], default_currency: Currency
    ) -> list[Agreement]:
        if not contracts:
            return []
        ids = [int(contract["id"]) for contract in contracts]
        companies = await self.client.companies_by_id(int(c["companyID"]) for c in contracts)
        currencies = await self.client.currencies()
        internal = next(
            (c for c in currencies.values() if c.get("isInternalCurrency") is True), None
        )
        posted: dict[int, list[JsonObject]] = defaultdict(list)
        for row in await self.client.posted_rows(ids):
            posted[int(row["contractID"])].append(row)
        found = []
        for contract in sorted(contracts, key=lambda c: int(c["id"])):
            recurring, period, status = await self.client.contract_labels(contract)
            company = companies.get(int(contract["companyID"]), {})
            currency_id = company.get("currencyID")
            own = currencies.get(currency_id) if isinstance(currency_id, int) else None
            currency = currency_of(own) or currency_of(internal) or default_currency
            found.append(
                to_agreement(
                    contract,
                    recurring=recurring,
                    period_label=period,
                    status_label=status,
                    currency=currency,
                    invoiced_through=posted_through(posted[int(contract["id"])]),
                )
            )
        return found

    # Lines ------------------------------------------------------------------------------------

    async def lines(self, agreement_id: int) -> list[Addition]:
        """Contract services (by id), then contract charges (by id)."""
        return (await self.lines_of([agreement_id]))[agreement_id]

    async def lines_of(self, agreement_ids: Sequence[int]) -> dict[int, list[Addition]]:
        """Every agreement's lines in three queries per 500 agreements."""
        wanted = sorted(set(agreement_ids))
        if not wanted:
            return {}
        services = await self.client.contract_services(wanted)
        rows: dict[int, list[JsonObject]] = defaultdict(list)
        for row in await self.client.unit_rows(wanted):
            rows[int(row["contractServiceID"])].append(row)
        catalog = await self.client.services_by_id(int(s["serviceID"]) for s in services)
        found: dict[int, list[Addition]] = {agreement_id: [] for agreement_id in wanted}
        for service in sorted(services, key=lambda s: int(s["id"])):
            item = catalog.get(int(service["serviceID"]))
            identifier = catalog_identifier(item) if item else str(service["serviceID"])
            line = to_recurring_line(service, rows[int(service["id"])], identifier=identifier)
            found[int(service["contractID"])].append(line)
        for charge in sorted(await self.client.charges(wanted), key=lambda c: int(c["id"])):
            found[int(charge["contractID"])].append(to_charge_line(charge))
        return found

    async def find_line_by_key(self, agreement_id: int, key: str) -> Addition | None:
        """The oldest contract charge marked with ``key`` (contract services carry no key)."""
        candidates = await self.client.charges_containing(agreement_id, key)
        marked = [c for c in candidates if (m := read_mark(c.get("description"))) and m.key == key]
        oldest = min(marked, key=lambda charge: int(charge["id"]), default=None)
        return to_charge_line(oldest) if oldest is not None else None

    # Catalog ----------------------------------------------------------------------------------

    async def catalog_item(self, item_id: int) -> CatalogItem:
        return to_catalog_item(await self.client.service(item_id))

    async def catalog_by_mpn(self, mpn: str) -> list[CatalogItem]:
        """Active Services whose part number (``catalogNumberPartNumber``) or SKU is ``mpn``."""
        by_mpn = any_of(eq("catalogNumberPartNumber", mpn), eq("sku", mpn))
        return [to_catalog_item(item) for item in await self.client.services([ACTIVE, by_mpn])]

    async def find_catalog_items(self, text: str, *, limit: int) -> list[CatalogItem]:
        filters = [ACTIVE]
        if text.strip():
            wanted = text.strip()
            names = ("name", "sku", "catalogNumberPartNumber", "description")
            filters.append(any_of(*(contains(name, wanted) for name in names)))
        found = [to_catalog_item(item) for item in await self.client.services(filters)]
        return sorted(found, key=lambda item: (item.identifier.casefold(), item.id))[:limit]

    # Writes -----------------------------------------------------------------------------------

    async def apply(self, agreement_id: int, action: PlannedAddition) -> int:
        """Write one action (see :class:`.writes.Writer`); the contract service or charge id."""
        return await self.writer.apply(agreement_id, action)

    async def expect(self, agreement_id: int, action: PlannedAddition) -> dict[str, str]:
        """The units before the adjustment ``action`` writes (adjustments cannot be read back,
        so this is how a lost one is decided); empty for a charge, found by its key."""
        expectation = await self.expectation(agreement_id, action)
        if expectation is None:
            return {}
        return {
            "serviceId": str(expectation.service_id),
            "effectiveDate": expectation.effective_date.isoformat(),
            "before": str(expectation.before),
            "change": str(expectation.change),
        }

    async def outcome(
        self, agreement_id: int, action: PlannedAddition, expected: Mapping[str, str]
    ) -> int | None:
        if action.kind is not AdditionKind.RECURRING:
            found = await self.find_line_by_key(agreement_id, action.key)
            return found.id if found is not None else None
        if expected:
            expectation = AdjustmentExpectation(
                agreement_id=agreement_id,
                service_id=int(expected["serviceId"]),
                effective_date=dt.date.fromisoformat(expected["effectiveDate"]),
                before=Decimal(expected["before"]),
                change=Decimal(expected["change"]),
            )
            if await self.adjustment_outcome(expectation) is AdjustmentOutcome.NOT_APPLIED:
                return None
        return await self._line_of(agreement_id, action)

    async def _line_of(self, agreement_id: int, action: PlannedAddition) -> int | None:
        """The contract service an applied recurring action is about."""
        if action.action is not Action.CREATE:
            return action.addition_id
        line = await self.client.contract_service_for(agreement_id, action.product.id)
        return int(line["id"]) if line is not None else None

    async def rewrite(self, agreement_id: int, line_id: int, action: PlannedAddition) -> int:
        """Set every field of a one-time create on the charge carrying its key."""
        return await self.writer.rewrite(agreement_id, line_id, action)

    async def remove_line(self, agreement_id: int, line_id: int) -> None:
        """Delete a surplus contract charge (only charges carry psasync's key)."""
        await self.client.delete_charge(agreement_id, line_id)

    # Idempotency without read-back (DESIGN §11) -----------------------------------------------

    async def units_at(self, agreement_id: int, service_id: int, day: dt.date) -> Decimal:
        """The units of Service ``service_id`` on the contract on ``day`` (0 when none)."""
        return await self.client.units_at(agreement_id, service_id, day)

    async def expectation(
        self, agreement_id: int, action: PlannedAddition
    ) -> AdjustmentExpectation | None:
        """What ``apply(action)`` would adjust, read now; None when it writes no adjustment
        (a charge) or nothing is left to adjust. Journal it before the write."""
        return await self.writer.expectation(agreement_id, action)

    async def adjustment_outcome(self, expectation: AdjustmentExpectation) -> AdjustmentOutcome:
        """Whether a journalled adjustment is applied, by the units at its effective date;
        ``AdjustmentConflict`` (naming both numbers) when they fit neither outcome."""
        units = await self.client.units_at(
            expectation.agreement_id, expectation.service_id, expectation.effective_date
        )
        return decide(expectation, units)
