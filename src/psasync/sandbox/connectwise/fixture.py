"""The ``connectwise:`` section of the sandbox fixture (DESIGN.md §4), checked strictly.

Field names are the vendor's. Every level forbids unknown keys, so a typo is an error naming the
key instead of silently missing data; references between lists are checked at load, so the
sandbox never serves an agreement whose company does not exist.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from psasync.domain.billing import BillingCycle
from psasync.sandbox.connectwise.vocabulary import AgreementStatus, BillCustomer, ProductClass

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


Amount = Annotated[Decimal, BeforeValidator(_amount), Field(allow_inf_nan=False)]
Day = Annotated[dt.date, BeforeValidator(_day)]


class _Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, coerce_numbers_to_str=True
    )


class IdRef(_Section):
    """A reference as the fixture writes it: ``{id: 250}``."""

    id: int


class Credential(_Section):
    """An API member's keys and the integration's client id."""

    company_id: str = Field(min_length=1)
    public_key: str = Field(min_length=1)
    private_key: str = Field(min_length=1, repr=False)
    client_id: str = Field(min_length=1)


class Company(_Section):
    id: int
    identifier: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=50)


class Currency(_Section):
    id: int
    currency_identifier: str = Field(min_length=1, max_length=10)
    name: str
    number_of_decimals: int = Field(default=2, ge=0, le=4)


class BillingCycleItem(_Section):
    id: int
    identifier: str = Field(min_length=1, max_length=5)
    name: str
    billing_options: BillingCycle


class AgreementType(_Section):
    id: int
    name: str


class CatalogItem(_Section):
    id: int
    identifier: str = Field(min_length=1, max_length=75)
    description: str = Field(min_length=1, max_length=60)
    customer_description: str = ""
    price: Amount = Decimal(0)
    cost: Amount = Decimal(0)
    product_class: ProductClass
    manufacturer_part_number: str | None = None


class Agreement(_Section):
    id: int
    name: str = Field(min_length=1, max_length=100)
    type: IdRef
    company: IdRef
    billing_cycle: IdRef | None = None
    currency: IdRef | None = None
    start_date: Day | None = None
    bill_start_date: Day | None = None
    agreement_status: AgreementStatus = AgreementStatus.ACTIVE
    cancelled_flag: bool = False
    prorate_flag: bool = False
    # The vendor's field: the day after the last invoiced one (never invoiced: left out).
    next_invoice_date: Day | None = None


class Addition(_Section):
    id: int
    agreement_id: int
    product: IdRef
    quantity: Amount = Decimal(1)
    unit_price: Amount = Decimal(0)
    unit_cost: Amount = Decimal(0)
    bill_customer: BillCustomer = BillCustomer.BILLABLE
    effective_date: Day | None = None
    cancelled_date: Day | None = None
    taxable_flag: bool = False
    description: str = ""
    invoice_description: str = Field(default="", max_length=6000)


class ConnectWiseFixture(_Section):
    """What the ConnectWise emulator serves; every list may be empty."""

    credentials: list[Credential] = Field(default_factory=list)
    companies: list[Company] = Field(default_factory=list)
    currencies: list[Currency] = Field(default_factory=list)
    billing_cycles: list[BillingCycleItem] = Field(default_factory=list)
    agreement_types: list[AgreementType] = Field(default_factory=list)
    catalog: list[CatalogItem] = Field(default_factory=list)
    agreements: list[Agreement] = Field(default_factory=list)
    additions: list[Addition] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_references(self) -> ConnectWiseFixture:
        problems = [
            *_duplicates("credentials", ((c.company_id, c.public_key) for c in self.credentials)),
            *_duplicates("companies", (c.id for c in self.companies)),
            *_duplicates("currencies", (c.id for c in self.currencies)),
            *_duplicates("billingCycles", (c.id for c in self.billing_cycles)),
            *_duplicates("agreementTypes", (t.id for t in self.agreement_types)),
            *_duplicates("catalog", (i.id for i in self.catalog)),
            *_duplicates("catalog identifiers", (i.identifier.lower() for i in self.catalog)),
            *_duplicates("agreements", (a.id for a in self.agreements)),
            *_duplicates("additions", (a.id for a in self.additions)),
            *self._agreement_problems(),
            *self._addition_problems(),
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _agreement_problems(self) -> list[str]:
        known = {
            "type": {t.id for t in self.agreement_types},
            "company": {c.id for c in self.companies},
            "billingCycle": {c.id for c in self.billing_cycles},
            "currency": {c.id for c in self.currencies},
        }
        problems = []
        for agreement in self.agreements:
            refs = {
                "type": agreement.type,
                "company": agreement.company,
                "billingCycle": agreement.billing_cycle,
                "currency": agreement.currency,
            }
            problems += [
                f"agreement {agreement.id}: {name} {ref.id} does not exist"
                for name, ref in refs.items()
                if ref is not None and ref.id not in known[name]
            ]
        return problems

    def _addition_problems(self) -> list[str]:
        agreements = {a.id for a in self.agreements}
        products = {i.id for i in self.catalog}
        problems = []
        for addition in self.additions:
            if addition.agreement_id not in agreements:
                problems.append(
                    f"addition {addition.id}: agreement {addition.agreement_id} does not exist"
                )
            if addition.product.id not in products:
                problems.append(
                    f"addition {addition.id}: product {addition.product.id} is not in the catalog"
                )
        return problems


def _duplicates(what: str, keys: Iterable[object]) -> list[str]:
    repeated = [key for key, count in Counter(keys).items() if count > 1]
    return [f"{what}: {key} appears more than once" for key in repeated]
