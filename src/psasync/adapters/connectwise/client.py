"""The ConnectWise PSA client psasync uses: typed access to what a sync reads and writes.

    client = await ConnectWiseClient.connect(http, site)
    agreements = await client.company_agreements(250, default_currency=Currency("USD"))
    addition = await client.create_addition(1201, AdditionWrite(...), key="task:7:line1:recurring")

Creating an addition is the one write that is not idempotent by nature. Each carries its
idempotency key in its internal description; when a POST's outcome is unknown (5xx, timeout,
dropped connection) the client first looks for an addition with that key and only POSTs again
when there is none, so a retry never bills a customer twice (DESIGN.md §3).
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import httpx

from psasync.adapters.connectwise.conditions import Condition, field
from psasync.adapters.connectwise.errors import ConnectWiseNotFound
from psasync.adapters.connectwise.keys import mark_description, read_marked_key
from psasync.adapters.connectwise.mapping import (
    AdditionChanges,
    AdditionWrite,
    to_addition,
    to_agreement,
    to_catalog_item,
)
from psasync.adapters.connectwise.models import (
    VendorAddition,
    VendorAgreement,
    VendorBillingCycle,
    VendorCatalogItem,
    VendorCompany,
    VendorCurrency,
    read_model,
    read_models,
)
from psasync.adapters.connectwise.site import (
    DEFAULT_CODEBASE,
    ConnectWiseSite,
    discover_codebase,
)
from psasync.adapters.connectwise.transport import ConnectWiseApi
from psasync.adapters.http import OutcomeUnknown, RetryPolicy
from psasync.domain.agreements import Addition, Agreement, CatalogItem
from psasync.domain.money import Currency

log = logging.getLogger(__name__)

COMPANIES = "company/companies"
AGREEMENTS = "finance/agreements"
AGREEMENT_TYPES = "finance/agreements/types"
BILLING_CYCLES = "finance/billingCycles"
CURRENCIES = "finance/currencies"
CATALOG = "procurement/catalog"


def additions_path(agreement_id: int) -> str:
    return f"{AGREEMENTS}/{agreement_id}/additions"


class ConnectWiseClient:
    """Typed ConnectWise calls on an injected ``httpx.AsyncClient``.

    ``policy`` governs retries of every call; ``create_attempts`` bounds how many times one
    addition is POSTed when earlier attempts ended with an unknown outcome.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        site: ConnectWiseSite,
        *,
        codebase: str | None = None,
        policy: RetryPolicy | None = None,
        create_attempts: int = 3,
        catalog_ttl: float = 60.0,
    ) -> None:
        if create_attempts < 1:
            raise ValueError(f"create_attempts must be at least 1, not {create_attempts}")
        self.site = site
        self.policy = policy or RetryPolicy()
        self.codebase = codebase or site.codebase or DEFAULT_CODEBASE
        self.create_attempts = create_attempts
        self.api = ConnectWiseApi(http, site, codebase=self.codebase, policy=self.policy)
        self.catalog_ttl = catalog_ttl
        self._catalog: dict[int, tuple[float, CatalogItem]] = {}
        self._currencies: dict[int, VendorCurrency] | None = None
        self._billing_cycles: dict[int, VendorBillingCycle] | None = None

    @classmethod
    async def connect(
        cls,
        http: httpx.AsyncClient,
        site: ConnectWiseSite,
        *,
        policy: RetryPolicy | None = None,
        create_attempts: int = 3,
    ) -> ConnectWiseClient:
        """A client for ``site``, its codebase asked of the site unless the settings name one."""
        codebase = await discover_codebase(http, site, policy=policy)
        return cls(http, site, codebase=codebase, policy=policy, create_attempts=create_attempts)

    def __repr__(self) -> str:
        return f"ConnectWiseClient({self.api.base_url!r}, company_id={self.site.company_id!r})"

    async def check_credentials(self) -> int:
        """Prove the keys, client id and role work: ``GET /company/companies/count``.

        Cheap (one number), and the companies are what psasync maps customers to anyway.
        Returns the number of companies; raises ``ConnectWiseAuthError`` with advice on 401/403.
        """
        return await self.api.count(COMPANIES)

    async def count(self, path: str, *, conditions: Condition | None = None) -> int:
        """How many objects of the list at ``path`` match ``conditions``."""
        return await self.api.count(path, conditions=conditions)

    # Companies and reference data -------------------------------------------------------------

    async def companies(
        self, *, conditions: Condition | None = None, order_by: str | None = "name asc"
    ) -> list[VendorCompany]:
        items = await self.api.get_all(COMPANIES, conditions=conditions, order_by=order_by)
        return read_models(VendorCompany, items)

    async def find_companies(self, text: str = "", *, limit: int = 50) -> list[VendorCompany]:
        """Up to ``limit`` companies whose name or identifier contains ``text``, by name."""
        conditions = field("deletedFlag").eq(False)
        if text.strip():
            wanted = text.strip()
            conditions &= field("name").contains(wanted) | field("identifier").contains(wanted)
        items = await self.api.get_first(
            COMPANIES, conditions=conditions, order_by="name asc", page_size=limit
        )
        return read_models(VendorCompany, items)

    async def company(self, company_id: int) -> VendorCompany:
        return read_model(VendorCompany, await self.api.get(f"{COMPANIES}/{company_id}"))

    async def currencies(self) -> dict[int, VendorCurrency]:
        """The site's currencies by id (read once per client)."""
        if self._currencies is None:
            items = read_models(VendorCurrency, await self.api.get_all(CURRENCIES))
            self._currencies = {currency.id: currency for currency in items}
        return self._currencies

    async def billing_cycles(self) -> dict[int, VendorBillingCycle]:
        """The site's billing cycles by id (read once per client)."""
        if self._billing_cycles is None:
            items = read_models(VendorBillingCycle, await self.api.get_all(BILLING_CYCLES))
            self._billing_cycles = {cycle.id: cycle for cycle in items}
        return self._billing_cycles

    # Agreements -------------------------------------------------------------------------------

    async def agreements(
        self, *, conditions: Condition | None = None, order_by: str | None = "id asc"
    ) -> list[VendorAgreement]:
        items = await self.api.get_all(AGREEMENTS, conditions=conditions, order_by=order_by)
        return read_models(VendorAgreement, items)

    async def agreement(self, agreement_id: int) -> VendorAgreement:
        return read_model(VendorAgreement, await self.api.get(f"{AGREEMENTS}/{agreement_id}"))

    async def company_agreements(
        self,
        company_id: int,
        *,
        default_currency: Currency,
        conditions: Condition | None = None,
    ) -> list[Agreement]:
        """The company's agreements as domain values, billing cycle and currency resolved."""
        wanted = field("company/id").eq(company_id)
        if conditions is not None:
            wanted = wanted & conditions
        found = await self.agreements(conditions=wanted)
        company = await self.company(company_id) if found else None
        return [
            await self._domain_agreement(agreement, company, default_currency)
            for agreement in found
        ]

    async def domain_agreement(self, agreement_id: int, *, default_currency: Currency) -> Agreement:
        """One agreement as a domain value, billing cycle and currency resolved."""
        agreement = await self.agreement(agreement_id)
        company = None
        if agreement.currency is None and agreement.company and agreement.company.id:
            company = await self.company(agreement.company.id)
        return await self._domain_agreement(agreement, company, default_currency)

    async def _domain_agreement(
        self, agreement: VendorAgreement, company: VendorCompany | None, default: Currency
    ) -> Agreement:
        return to_agreement(
            agreement,
            billing_cycles=await self.billing_cycles(),
            currencies=await self.currencies(),
            company=company,
            default_currency=default,
        )

    # Additions --------------------------------------------------------------------------------

    async def addition_records(
        self, agreement_id: int, *, conditions: Condition | None = None
    ) -> list[VendorAddition]:
        """The agreement's additions as the vendor sends them (with extPrice, margin…)."""
        items = await self.api.get_all(
            additions_path(agreement_id), conditions=conditions, order_by="id asc"
        )
        return read_models(VendorAddition, items)

    async def additions(
        self, agreement_id: int, *, conditions: Condition | None = None
    ) -> list[Addition]:
        """The agreement's additions as domain values, each with its sync key if it has one."""
        records = await self.addition_records(agreement_id, conditions=conditions)
        return [to_addition(record) for record in records]

    async def addition(self, agreement_id: int, addition_id: int) -> Addition:
        data = await self.api.get(f"{additions_path(agreement_id)}/{addition_id}")
        return to_addition(read_model(VendorAddition, data))

    async def find_addition_by_key(self, agreement_id: int, key: str) -> Addition | None:
        """The addition psasync created with idempotency key ``key``, if there is one.

        The vendor narrows by ``description contains <key>``; the exact marker is then checked
        here, so a key that is a prefix of another never matches it. The oldest one wins.
        """
        candidates = await self.additions(
            agreement_id, conditions=field("description").contains(key)
        )
        matching = [addition for addition in candidates if addition.sync_key == key]
        return min(matching, key=lambda addition: addition.id) if matching else None

    async def create_addition(
        self, agreement_id: int, addition: AdditionWrite, *, key: str
    ) -> Addition:
        """Create the addition carrying idempotency key ``key``; never creates it twice.

        After a POST whose outcome is unknown, the agreement is searched for the key: found,
        it is returned; not found, the POST is repeated (up to ``create_attempts`` in all).
        """
        body = addition.to_vendor(description=mark_description(addition.description, key))
        if read_marked_key(body["description"]) != key:
            raise ValueError(f"{key!r} is not an idempotency key like task:7:line1:recurring")
        for attempt in range(1, self.create_attempts + 1):
            try:
                created = await self.api.post(additions_path(agreement_id), body)
                return to_addition(read_model(VendorAddition, created))
            except OutcomeUnknown as unknown:
                found = await self.find_addition_by_key(agreement_id, key)
                if found is not None:
                    log.info("addition %s was created despite %s", key, unknown.message)
                    return found
                if attempt == self.create_attempts:
                    raise
                await self.policy.sleep(self.policy.delay(attempt=attempt, retry_after=None))
        raise AssertionError("unreachable: the loop returns or raises on its last attempt")

    async def update_addition(
        self, agreement_id: int, addition_id: int, changes: AdditionChanges
    ) -> Addition:
        """Set the given fields with one JSON Patch (idempotent: same values, same result)."""
        operations = changes.to_patch()
        if not operations:
            return await self.addition(agreement_id, addition_id)
        path = f"{additions_path(agreement_id)}/{addition_id}"
        return to_addition(read_model(VendorAddition, await self.api.patch(path, operations)))

    async def cancel_addition(
        self, agreement_id: int, addition_id: int, *, cancelled_date: dt.date
    ) -> Addition:
        """Cancel by setting ``cancelledDate`` (the last day it bills)."""
        changes = AdditionChanges(cancelled_date=cancelled_date)
        return await self.update_addition(agreement_id, addition_id, changes)

    async def delete_addition(self, agreement_id: int, addition_id: int) -> bool:
        """Delete an addition (one that never billed). False when it was already gone (404),
        which is what a repeated delete after an unknown outcome finds."""
        try:
            await self.api.delete(f"{additions_path(agreement_id)}/{addition_id}")
        except ConnectWiseNotFound:
            return False
        return True

    # Catalog ----------------------------------------------------------------------------------

    async def catalog_items(
        self, *, conditions: Condition | None = None, active_only: bool = True
    ) -> list[CatalogItem]:
        """Catalog items matching ``conditions`` (inactive ones left out unless asked for)."""
        if active_only:
            active = field("inactiveFlag").eq(False)
            conditions = active if conditions is None else active & conditions
        items = await self.api.get_all(CATALOG, conditions=conditions, order_by="id asc")
        return [to_catalog_item(item) for item in read_models(VendorCatalogItem, items)]

    async def find_catalog_items(self, text: str = "", *, limit: int = 50) -> list[CatalogItem]:
        """Up to ``limit`` active catalog items whose identifier, description or MPN contains
        ``text``, by identifier."""
        conditions = field("inactiveFlag").eq(False)
        if text.strip():
            wanted = text.strip()
            conditions &= (
                field("identifier").contains(wanted)
                | field("description").contains(wanted)
                | field("manufacturerPartNumber").contains(wanted)
            )
        items = await self.api.get_first(
            CATALOG, conditions=conditions, order_by="identifier asc", page_size=limit
        )
        return [to_catalog_item(item) for item in read_models(VendorCatalogItem, items)]

    async def catalog_item(self, item_id: int) -> CatalogItem:
        """One catalog item, kept for ``catalog_ttl`` seconds: every preview and sync of a
        product reads the same item, and a price edited in ConnectWise shows within a minute."""
        cached = self._catalog.get(item_id)
        if cached is not None and time.monotonic() - cached[0] < self.catalog_ttl:
            return cached[1]
        data = await self.api.get(f"{CATALOG}/{item_id}")
        item = to_catalog_item(read_model(VendorCatalogItem, data))
        self._catalog[item_id] = (time.monotonic(), item)
        return item

    async def catalog_by_mpn(self, mpn: str, *, active_only: bool = True) -> list[CatalogItem]:
        """Catalog items whose ``manufacturerPartNumber`` is ``mpn``."""
        condition = field("manufacturerPartNumber").eq(mpn)
        return await self.catalog_items(conditions=condition, active_only=active_only)
