"""ConnectWise as the use cases see a PSA: the PSA port (``services.ports.PsaPort``) over the
typed client.

Agreements are agreements, lines are additions, catalog items are catalog items; psasync's key
rides in the addition's internal description (see ``keys``), which this adapter writes and reads
so the use cases never see the mark.
"""

from __future__ import annotations

from psasync.adapters.connectwise.client import ConnectWiseClient
from psasync.adapters.connectwise.conditions import field
from psasync.adapters.connectwise.mapping import AdditionChanges, AdditionWrite
from psasync.adapters.connectwise.models import VendorCompany
from psasync.adapters.connectwise.site import VENDOR
from psasync.domain.agreements import Addition, Agreement, CatalogItem, Company
from psasync.domain.money import Currency
from psasync.domain.plan import Action, PlannedAddition


class ConnectWisePsa:
    """One tenant's ConnectWise site behind the PSA port."""

    def __init__(self, client: ConnectWiseClient) -> None:
        self.client = client

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

    async def lines(self, agreement_id: int) -> list[Addition]:
        return await self.client.additions(agreement_id)

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
