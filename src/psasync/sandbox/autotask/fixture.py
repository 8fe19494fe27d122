"""The ``autotask:`` section of the sandbox fixture (DESIGN.md §11), checked strictly.

Field names are the vendor's. Every level forbids unknown keys, so a typo is an error naming the
key; references between lists are checked at load. Picklist fields (``companyType``,
``contractType``, ``status``, ``contractPeriodType``, ``billingPreference``, ``periodType``) are
written as their labels and numbered by :mod:`.picklists`. Money is quoted like the
marketplace's ("12.50"; an unquoted YAML number is read as written). ``units`` and
``effectiveDate`` of a contract service seed its first contract service units row;
``postedThrough.date`` is inclusive.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from psasync.sandbox.autotask import picklists as pl

_DAY = re.compile(r"(\d{4}-\d{2}-\d{2})(T00:00:00(\.0+)?(Z|[+-]00:?00)?)?")


def _amount(value: object) -> object:
    if isinstance(value, float):
        # YAML reads an unquoted 12.50 as a float; its shortest repr is what the author wrote.
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
    return value


def _day(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        found = _DAY.fullmatch(value.strip())
        if found is None:
            raise ValueError(f"{value!r} is not a date like 2026-11-01 or 2026-11-01T00:00:00Z")
        return dt.date.fromisoformat(found.group(1))
    return value


def _label_of(picklist: pl.Picklist) -> Callable[[object], object]:
    def number(value: object) -> object:
        if isinstance(value, str):
            return picklist.value_of(value)
        raise ValueError("a picklist value is written as its label, e.g. 'Active'")

    return number


Amount = Annotated[Decimal, BeforeValidator(_amount), Field(allow_inf_nan=False)]
Day = Annotated[dt.date, BeforeValidator(_day)]
CompanyType = Annotated[int, BeforeValidator(_label_of(pl.COMPANY_TYPE))]
ContractType = Annotated[int, BeforeValidator(_label_of(pl.CONTRACT_TYPE))]
ContractStatus = Annotated[int, BeforeValidator(_label_of(pl.CONTRACT_STATUS))]
ContractPeriodType = Annotated[int, BeforeValidator(_label_of(pl.CONTRACT_PERIOD_TYPE))]
BillingPreference = Annotated[int, BeforeValidator(_label_of(pl.BILLING_PREFERENCE))]
ServicePeriodType = Annotated[int, BeforeValidator(_label_of(pl.SERVICE_PERIOD_TYPE))]


def _default(picklist: pl.Picklist) -> int:
    return picklist.value_of(picklist.default or "")


class _Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, coerce_numbers_to_str=True
    )


class Credential(_Section):
    """An API-only user: its user name (an e-mail), its secret and the integration code."""

    username: str = Field(min_length=1, alias="username")
    secret: str = Field(min_length=1, repr=False)
    integration_code: str = Field(min_length=1)
    # Entities this user's security level may not reach (403); the sandbox's own key.
    denied_entities: list[str] = Field(default_factory=list)


class Company(_Section):
    id: int
    company_name: str = Field(min_length=1, max_length=100)
    company_number: str | None = Field(default=None, max_length=50)
    company_type: CompanyType = _default(pl.COMPANY_TYPE)
    is_active: bool = True
    currency_id: int | None = Field(default=None, alias="currencyID")
    parent_company_id: int | None = Field(default=None, alias="parentCompanyID")


class Currency(_Section):
    id: int
    name: str = Field(min_length=1, max_length=3)
    description: str | None = None
    exchange_rate: Amount = Decimal(1)
    is_internal_currency: bool = False
    is_active: bool = True


class Service(_Section):
    id: int
    name: str = Field(min_length=1, max_length=150)
    description: str | None = Field(default=None, max_length=400)
    invoice_description: str | None = Field(default=None, max_length=1000)
    unit_price: Amount | None = None
    unit_cost: Amount | None = None
    period_type: ServicePeriodType = _default(pl.SERVICE_PERIOD_TYPE)
    sku: str | None = Field(default=None, max_length=50)
    catalog_number_part_number: str | None = Field(default=None, max_length=50)
    manufacturer_service_provider: str | None = None
    manufacturer_service_provider_product_number: str | None = None
    vendor_company_id: int | None = Field(default=None, alias="vendorCompanyID")
    is_active: bool = True


class Contract(_Section):
    id: int
    contract_name: str = Field(min_length=1, max_length=100)
    contract_number: str | None = Field(default=None, max_length=50)
    company_id: int = Field(alias="companyID")
    contract_type: ContractType = pl.RECURRING_SERVICE
    status: ContractStatus = _default(pl.CONTRACT_STATUS)
    contract_period_type: ContractPeriodType = _default(pl.CONTRACT_PERIOD_TYPE)
    billing_preference: BillingPreference = _default(pl.BILLING_PREFERENCE)
    start_date: Day
    end_date: Day
    description: str | None = None
    purchase_order_number: str | None = None
    is_default_contract: bool = False

    @model_validator(mode="after")
    def _ends_after_start(self) -> Contract:
        if self.end_date < self.start_date:
            raise ValueError(f"contract {self.id}: endDate is before startDate")
        return self


class ContractService(_Section):
    id: int
    contract_id: int = Field(alias="contractID")
    service_id: int = Field(alias="serviceID")
    unit_price: Amount | None = None
    unit_cost: Amount | None = None
    adjusted_price: Amount | None = None
    invoice_description: str | None = Field(default=None, max_length=1000)
    internal_description: str | None = Field(default=None, max_length=1000)
    # The first contract service units row: ``units`` from ``effectiveDate`` (default: the
    # contract's start date).
    units: int = Field(default=0, ge=0)
    effective_date: Day | None = None


class ContractCharge(_Section):
    id: int
    contract_id: int = Field(alias="contractID")
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    date_purchased: Day
    unit_quantity: Amount
    unit_price: Amount | None = None
    unit_cost: Amount | None = None
    is_billable_to_company: bool = True


class PostedThrough(_Section):
    contract_id: int = Field(alias="contractID")
    date: Day


class AutotaskFixture(_Section):
    """What the Autotask emulator serves; every list may be empty."""

    credentials: list[Credential] = Field(default_factory=list)
    companies: list[Company] = Field(default_factory=list)
    currencies: list[Currency] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    contracts: list[Contract] = Field(default_factory=list)
    contract_services: list[ContractService] = Field(default_factory=list)
    contract_charges: list[ContractCharge] = Field(default_factory=list)
    posted_through: list[PostedThrough] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_references(self) -> AutotaskFixture:
        problems = [
            *_duplicates("credentials", (c.username.lower() for c in self.credentials)),
            *_duplicates("companies", (c.id for c in self.companies)),
            *_duplicates("currencies", (c.id for c in self.currencies)),
            *_duplicates("services", (s.id for s in self.services)),
            *_duplicates("contracts", (c.id for c in self.contracts)),
            *_duplicates("contractServices", (s.id for s in self.contract_services)),
            *_duplicates("contractCharges", (c.id for c in self.contract_charges)),
            *_duplicates("postedThrough", (p.contract_id for p in self.posted_through)),
            *self._company_problems(),
            *self._contract_problems(),
            *self._contract_service_problems(),
            *self._charge_problems(),
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _company_problems(self) -> list[str]:
        companies = {c.id for c in self.companies}
        currencies = {c.id for c in self.currencies}
        problems = [
            f"company {c.id}: currencyID {c.currency_id} does not exist"
            for c in self.companies
            if c.currency_id is not None and c.currency_id not in currencies
        ]
        problems += [
            f"company {c.id}: parentCompanyID {c.parent_company_id} does not exist"
            for c in self.companies
            if c.parent_company_id is not None and c.parent_company_id not in companies
        ]
        problems += [
            f"service {s.id}: vendorCompanyID {s.vendor_company_id} does not exist"
            for s in self.services
            if s.vendor_company_id is not None and s.vendor_company_id not in companies
        ]
        return problems

    def _contract_problems(self) -> list[str]:
        companies = {c.id for c in self.companies}
        contracts = {c.id for c in self.contracts}
        problems = [
            f"contract {c.id}: companyID {c.company_id} does not exist"
            for c in self.contracts
            if c.company_id not in companies
        ]
        problems += [
            f"postedThrough: contract {p.contract_id} does not exist"
            for p in self.posted_through
            if p.contract_id not in contracts
        ]
        return problems

    def _contract_service_problems(self) -> list[str]:
        contracts = {c.id: c for c in self.contracts}
        services = {s.id for s in self.services}
        problems = []
        for item in self.contract_services:
            where = f"contract service {item.id}"
            contract = contracts.get(item.contract_id)
            if contract is None:
                problems.append(f"{where}: contractID {item.contract_id} does not exist")
            elif contract.contract_type != pl.RECURRING_SERVICE:
                problems.append(f"{where}: contract {contract.id} is not a Recurring Service one")
            elif item.effective_date is not None and not (
                contract.start_date <= item.effective_date <= contract.end_date
            ):
                problems.append(f"{where}: effectiveDate is outside the contract's dates")
            if item.service_id not in services:
                problems.append(f"{where}: serviceID {item.service_id} does not exist")
        return problems

    def _charge_problems(self) -> list[str]:
        contracts = {c.id for c in self.contracts}
        return [
            f"contract charge {c.id}: contractID {c.contract_id} does not exist"
            for c in self.contract_charges
            if c.contract_id not in contracts
        ]


def _duplicates(what: str, keys: Iterable[object]) -> list[str]:
    repeated = [key for key, count in Counter(keys).items() if count > 1]
    return [f"{what}: {key} appears more than once" for key in repeated]
