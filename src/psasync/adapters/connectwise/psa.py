"""ConnectWise as the use cases see a PSA: the PSA port (``services.ports.PsaPort``) over the
typed client.

Agreements are agreements, lines are additions, catalog items are catalog items; psasync's key
rides in the addition's internal description (see ``keys``), which this adapter writes and reads
so the use cases never see the mark.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace

from psasync.adapters.connectwise.client import ConnectWiseClient
from psasync.adapters.connectwise.conditions import field
from psasync.adapters.connectwise.errors import ConnectWiseNotFound
from psasync.adapters.connectwise.keys import mark_description
from psasync.adapters.connectwise.mapping import AdditionChanges, AdditionWrite, to_agreement
from psasync.adapters.connectwise.models import VendorAgreement, VendorCompany
from psasync.adapters.connectwise.site import VENDOR
from psasync.domain.agreements import Addition, Agreement, CatalogItem, Company
from psasync.domain.keys import written_differences
from psasync.domain.money import Currency
from psasync.domain.plan import Action, PlannedAddition

# Companies named in one ``company/id in (...)`` condition: the query string stays well inside
# what proxies accept (about 8 characters per id).
COMPANIES_PER_READ = 100
# Agreements whose additions are read at the same time (ConnectWise has no bulk read of them).
CONCURRENT_READS = 10


class ConnectWisePsa:
    """One tenant's ConnectWise site behind the PSA port."""

    def __init__(self, client: ConnectWiseClient, *, concurrency: int = CONCURRENT_READS) -> None:
        self.client = client
        self.concurrency = concurrency

    def __repr__(self) -> str:
        return f"ConnectWisePsa({self.client!r})"

    @property
    def vendor(self) -> str:
        return VENDOR

    async def check_credentials(self) -> None:
        await self.client.check_credentials()

    async def companies(self, *, name: str | None = None) -> list[Company]:
        conditions = field("name").eq(name) if name is not None else None
        return [_company(c) for c in await self.client.companies(conditions=conditions)]

    async def company(self, company_id: int) -> Company:
        return _company(await self.client.company(company_id))

    async def find_companies(self, text: str, *, limit: int) -> list[Company]:
        return [_company(c) for c in await self.client.find_companies(text, limit=limit)]

    async def agreements_of(
        self, company_id: int, *, default_currency: Currency
    ) -> list[Agreement]:
        return await self.client.company_agreements(company_id, default_currency=default_currency)

    async def agreement(self, agreement_id: int, *, default_currency: Currency) -> Agreement:
        return await self.client.domain_agreement(agreement_id, default_currency=default_currency)

    async def agreements_of_companies(
        self, company_ids: Sequence[int], *, default_currency: Currency
    ) -> list[Agreement]:
        wanted = sorted(set(company_ids))
        chunks = [
            wanted[start : start + COMPANIES_PER_READ]
            for start in range(0, len(wanted), COMPANIES_PER_READ)
        ]
        gate = asyncio.Semaphore(self.concurrency)

        async def read(chunk: list[int]) -> list[VendorAgreement]:
            async with gate:
                return await self.client.agreements(conditions=field("company/id").in_(chunk))

        found = [a for part in await asyncio.gather(*(read(c) for c in chunks)) for a in part]
        cycles = await self.client.billing_cycles()
        currencies = await self.client.currencies()
        # An agreement without a currency takes its company's: read those companies together.
        lacking = sorted(
            {a.company.id for a in found if a.currency is None and a.company and a.company.id}
        )
        companies: dict[int, VendorCompany] = {}
        for start in range(0, len(lacking), COMPANIES_PER_READ):
            chunk = lacking[start : start + COMPANIES_PER_READ]
            for company in await self.client.companies(conditions=field("id").in_(chunk)):
                companies[company.id] = company
        return [
            to_agreement(
                agreement,
                billing_cycles=cycles,
                currencies=currencies,
                company=companies.get(agreement.company.id)
                if agreement.company and agreement.company.id
                else None,
                default_currency=default_currency,
            )
            for agreement in sorted(found, key=lambda a: a.id)
        ]

    async def lines(self, agreement_id: int) -> list[Addition]:
        return await self.client.additions(agreement_id)

    async def lines_of(self, agreement_ids: Sequence[int]) -> dict[int, list[Addition]]:
        wanted = sorted(set(agreement_ids))
        gate = asyncio.Semaphore(self.concurrency)

        async def read(agreement_id: int) -> list[Addition]:
            async with gate:
                return await self.client.additions(agreement_id)

        found = await asyncio.gather(*(read(agreement_id) for agreement_id in wanted))
        return dict(zip(wanted, found, strict=True))

    async def find_line_by_key(self, agreement_id: int, key: str) -> Addition | None:
        return await self.client.find_addition_by_key(agreement_id, key)

    async def catalog_item(self, item_id: int) -> CatalogItem:
        return await self.client.catalog_item(item_id)

    async def catalog_by_mpn(self, mpn: str) -> list[CatalogItem]:
        return await self.client.catalog_by_mpn(mpn)

    async def find_catalog_items(self, text: str, *, limit: int) -> list[CatalogItem]:
        return await self.client.find_catalog_items(text, limit=limit)

    async def apply(self, agreement_id: int, action: PlannedAddition) -> int:
        if action.action is Action.CREATE:
            write = AdditionWrite.from_planned(action)
            created = await self.client.create_addition(agreement_id, write, key=action.key)
            return created.id
        if action.addition_id is None:  # the planner always targets updates, cancels, deletes
            raise ValueError(f"{action.key} has no addition to {action.action.value}")
        if action.action is Action.DELETE:
            await self.client.delete_addition(agreement_id, action.addition_id)
        elif action.action is Action.CANCEL:
            if action.cancelled_date is None:
                raise ValueError(f"{action.key} cancels without a date")
            await self.client.cancel_addition(
                agreement_id, action.addition_id, cancelled_date=action.cancelled_date
            )
        else:
            await self.client.update_addition(agreement_id, action.addition_id, _changes(action))
        return action.addition_id

    async def expect(
        self,
        agreement_id: int,  # noqa: ARG002 - the port's signature
        action: PlannedAddition,  # noqa: ARG002
    ) -> dict[str, str]:
        # A create is found by its key, a change by its target's values: nothing to keep.
        return {}

    async def outcome(
        self,
        agreement_id: int,
        action: PlannedAddition,
        expected: Mapping[str, str],  # noqa: ARG002 - ConnectWise shows keys and values
    ) -> int | None:
        if action.action is Action.CREATE:
            found = await self.client.find_addition_by_key(agreement_id, action.key)
            return found.id if found is not None else None
        lines = {line.id: line for line in await self.client.additions(agreement_id)}
        target = lines.get(action.addition_id) if action.addition_id is not None else None
        if action.action is Action.DELETE:
            return action.addition_id if target is None else None
        if target is None:
            raise ConnectWiseNotFound(
                f"addition {action.addition_id} is gone from agreement {agreement_id}",
                status=404,
            )
        return target.id if not written_differences(action, target) else None

    async def rewrite(self, agreement_id: int, line_id: int, action: PlannedAddition) -> int:
        changes = replace(
            _changes(action),
            effective_date=action.effective_date,
            cancelled_date=action.cancelled_date,
            description=mark_description(action.description, action.key),
            product_id=action.product.id,
        )
        await self.client.update_addition(agreement_id, line_id, changes)
        return line_id

    async def remove_line(self, agreement_id: int, line_id: int) -> None:
        await self.client.delete_addition(agreement_id, line_id)


def _company(company: VendorCompany) -> Company:
    identifier = company.identifier or ""
    return Company(id=company.id, identifier=identifier, name=company.name or identifier)


def _changes(action: PlannedAddition) -> AdditionChanges:
    return AdditionChanges(
        quantity=action.quantity,
        unit_price=action.unit_price,
        unit_cost=action.unit_cost,
        cancelled_date=action.cancelled_date,
        bill_customer=action.bill_customer,
        taxable=action.taxable,
        invoice_description=action.description or None,
    )
