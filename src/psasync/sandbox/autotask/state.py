"""The emulator's data: loaded from the fixture, kept in memory, changed under a lock.

Companies, currencies, services and contracts are read-only. Contract services are created
(``POST /Contracts/{id}/Services``, or by an adjustment naming a service the contract lacks) and
updated (``adjustedPrice``, ``invoiceDescription`` only); their units move only by adjustments,
which are stored but never served; units rows are recomputed from the timelines after every
change (:mod:`.units`). Contract charges are created, updated and deleted. Contracts can be
marked approved-and-posted through a day (a control endpoint stands in for the vendor's Approve
and Post); nothing may then change inside a posted period. Every change happens inside one
lock, from the checks to the store, so concurrent requests never share an id or slip past a
posting.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hmac
import threading
from decimal import Decimal
from typing import Any

from psasync.sandbox.autotask import entities as en
from psasync.sandbox.autotask import fixture as fx
from psasync.sandbox.autotask import units as un
from psasync.sandbox.autotask.errors import AutotaskError, no_reference, rule
from psasync.sandbox.autotask.picklists import RECURRING_SERVICE
from psasync.sandbox.autotask.writes import day, read_body, require

POSTED = "already approved and posted contract period"
CONTRACT_SERVICE_WRITABLE = {"adjustedPrice", "invoiceDescription"}
CHARGE_WRITABLE = (
    "name",
    "description",
    "datePurchased",
    "unitQuantity",
    "unitPrice",
    "unitCost",
    "isBillableToCompany",
)


@dataclasses.dataclass(frozen=True)
class ChargeRecord:
    id: int
    contract_id: int
    name: str
    description: str | None
    date_purchased: dt.date
    unit_quantity: Decimal
    unit_price: Decimal | None
    unit_cost: Decimal | None
    is_billable_to_company: bool

    @classmethod
    def from_fixture(cls, charge: fx.ContractCharge) -> ChargeRecord:
        return cls(
            id=charge.id,
            contract_id=charge.contract_id,
            name=charge.name,
            description=charge.description,
            date_purchased=charge.date_purchased,
            unit_quantity=charge.unit_quantity,
            unit_price=charge.unit_price,
            unit_cost=charge.unit_cost,
            is_billable_to_company=charge.is_billable_to_company,
        )

    def writable(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "datePurchased": self.date_purchased,
            "unitQuantity": self.unit_quantity,
            "unitPrice": self.unit_price,
            "unitCost": self.unit_cost,
            "isBillableToCompany": self.is_billable_to_company,
        }

    def to_json(self, *, billed: bool) -> dict[str, Any]:
        cost = self.unit_cost
        return {
            "id": self.id,
            "contractID": self.contract_id,
            **self.writable(),
            "extendedCost": None if cost is None else self.unit_quantity * cost,
            "isBilled": billed,
        }


class AutotaskState:
    """One emulator instance's data."""

    def __init__(self, fixture: fx.AutotaskFixture) -> None:
        self.credentials = tuple(fixture.credentials)
        self.companies = {c.id: c for c in fixture.companies}
        self.currencies = {c.id: c for c in fixture.currencies}
        self.services = {s.id: s for s in fixture.services}
        self.contracts = {c.id: c for c in fixture.contracts}
        self._lock = threading.RLock()
        self._posted = {p.contract_id: p.date for p in fixture.posted_through}
        self._services: dict[int, un.ContractServiceRecord] = {}
        for item in fixture.contract_services:
            contract = self.contracts[item.contract_id]
            start = item.effective_date or contract.start_date
            price = item.adjusted_price if item.adjusted_price is not None else item.unit_price
            self._services[item.id] = un.ContractServiceRecord(
                id=item.id,
                contract_id=item.contract_id,
                service_id=item.service_id,
                unit_price=item.unit_price,
                unit_cost=item.unit_cost,
                adjusted_price=item.adjusted_price,
                invoice_description=item.invoice_description,
                internal_description=item.internal_description,
                quote_item_id=None,
                start=start,
                unit_changes=[(start, item.units)],
                price_changes=[un.PriceChange(start, price, item.unit_cost)],
            )
        self._charges = {c.id: ChargeRecord.from_fixture(c) for c in fixture.contract_charges}
        self._adjustments: list[dict[str, Any]] = []
        self._unit_ids: dict[tuple[int, dt.date], int] = {}
        self._rows: dict[int, list[tuple[int, un.UnitRow]]] = {}
        for record_id in sorted(self._services):
            self._refresh(self._services[record_id])

    # ----- credentials -------------------------------------------------------------------

    def credential(self, username: str, secret: str, code: str) -> fx.Credential | None:
        """The credential these headers belong to, or None (secrets compared in constant time)."""
        for credential in self.credentials:
            if (
                credential.username.lower() == username.strip().lower()
                and hmac.compare_digest(credential.secret.encode(), secret.encode())
                and hmac.compare_digest(credential.integration_code.encode(), code.encode())
            ):
                return credential
        return None

    def knows_user(self, username: str) -> bool:
        return any(c.username.lower() == username.strip().lower() for c in self.credentials)

    # ----- reads -------------------------------------------------------------------------

    def rows(self, entity: en.Entity, *, contract_id: int | None = None) -> list[dict[str, Any]]:
        """Every item of ``entity`` as the vendor shows it (of one contract, if given)."""
        with self._lock:
            rows = self._render(entity)
        if contract_id is not None:
            rows = [row for row in rows if row.get("contractID") == contract_id]
        return rows

    def one(self, entity: en.Entity, item_id: int) -> dict[str, Any] | None:
        return next((row for row in self.rows(entity) if row["id"] == item_id), None)

    def _render(self, entity: en.Entity) -> list[dict[str, Any]]:
        if entity is en.COMPANIES:
            return [_company_json(c) for c in self.companies.values()]
        if entity is en.CURRENCIES:
            return [_currency_json(c) for c in self.currencies.values()]
        if entity is en.SERVICES:
            return [_service_json(s) for s in self.services.values()]
        if entity is en.CONTRACTS:
            return [_contract_json(c) for c in self.contracts.values()]
        if entity is en.CONTRACT_SERVICES:
            return [record.to_json() for record in self._services.values()]
        if entity is en.CONTRACT_SERVICE_UNITS:
            return [
                self._unit_json(self._services[record_id], row_id, row)
                for record_id in sorted(self._rows)
                for row_id, row in self._rows[record_id]
            ]
        if entity is en.CONTRACT_CHARGES:
            return [
                charge.to_json(
                    billed=self._in_posted_period(charge.contract_id, charge.date_purchased)
                )
                for charge in self._charges.values()
            ]
        raise AssertionError(f"{entity.name} is not readable")

    def _unit_json(
        self, record: un.ContractServiceRecord, row_id: int, row: un.UnitRow
    ) -> dict[str, Any]:
        return {
            "id": row_id,
            "contractID": record.contract_id,
            "contractServiceID": record.id,
            "serviceID": record.service_id,
            "startDate": row.start,
            "endDate": row.end,
            "units": row.units,
            "price": row.price,
            "cost": row.cost,
            "internalCurrencyPrice": row.price,
            "approveAndPostDate": row.period.start if row.posted else None,
            "vendorCompanyID": self.services[record.service_id].vendor_company_id,
        }

    def adjustments(self) -> list[dict[str, Any]]:
        """Every adjustment received (the vendor never serves them; the control endpoint does)."""
        with self._lock:
            return [dict(a) for a in self._adjustments]

    # ----- posted periods ----------------------------------------------------------------

    def posted(self) -> dict[int, dt.date]:
        with self._lock:
            return dict(self._posted)

    def mark_posted(self, contract_id: int, through: dt.date) -> None:
        """Approve and post the contract's periods up to the one holding ``through``."""
        with self._lock:
            self._posted[contract_id] = through
            for record in self._services.values():
                if record.contract_id == contract_id:
                    self._refresh(record)

    def posted_until(self, contract_id: int) -> dt.date:
        with self._lock:
            contract = self.contracts[contract_id]
            return un.posted_until(contract, self._posted.get(contract_id))

    def _in_posted_period(self, contract_id: int, when: dt.date) -> bool:
        return when < self.posted_until(contract_id)

    def _refuse_posted(self, contract: fx.Contract, when: dt.date, what: str) -> None:
        if when < un.posted_until(contract, self._posted.get(contract.id)):
            period = un.period_of(contract, when) if when >= contract.start_date else None
            span = f" ({period.span})" if period else ""
            raise rule(
                f"{what} dated {when.isoformat()} falls in an {POSTED}{span} "
                f"of contract {contract.id}; it cannot be changed."
            )

    # ----- contract services -------------------------------------------------------------

    def _contract(self, contract_id: object) -> fx.Contract:
        contract = self.contracts.get(contract_id) if isinstance(contract_id, int) else None
        if contract is None:
            raise no_reference("contractID")
        return contract

    def _recurring(self, contract_id: object) -> fx.Contract:
        contract = self._contract(contract_id)
        if contract.contract_type != RECURRING_SERVICE:
            raise rule(
                f"Contract {contract.id} is not a Recurring Service contract; "
                "services can only be added to Recurring Service contracts."
            )
        return contract

    def _service(self, service_id: object) -> fx.Service:
        service = self.services.get(service_id) if isinstance(service_id, int) else None
        if service is None:
            raise no_reference("serviceID")
        return service

    def create_contract_service(self, contract_id: int, body: object) -> int:
        """``POST /Contracts/{id}/Services``: the service joins the contract with 0 units."""
        values = read_body(body, en.CONTRACT_SERVICES)
        _same_parent(values, contract_id)
        require(values, "serviceID")
        with self._lock:
            contract = self._recurring(contract_id)
            service = self._service(values["serviceID"])
            if any(
                r.contract_id == contract.id and r.service_id == service.id
                for r in self._services.values()
            ):
                raise rule(
                    f"Service {service.id} is already on contract {contract.id}; "
                    "adjust its units instead."
                )
            record = self._new_service(
                contract,
                service,
                start=contract.start_date,
                units=0,
                unit_price=_given(values, "unitPrice", service.unit_price),
                unit_cost=_given(values, "unitCost", service.unit_cost),
            )
            record.adjusted_price = values.get("adjustedPrice")
            if record.adjusted_price is not None:
                record.price_changes = [
                    un.PriceChange(record.start, record.adjusted_price, record.unit_cost)
                ]
            record.invoice_description = _given(
                values, "invoiceDescription", record.invoice_description
            )
            record.internal_description = values.get("internalDescription")
            record.quote_item_id = values.get("quoteItemID")
            self._refresh(record)
            return record.id

    def _new_service(
        self,
        contract: fx.Contract,
        service: fx.Service,
        *,
        start: dt.date,
        units: int,
        unit_price: Decimal | None,
        unit_cost: Decimal | None,
    ) -> un.ContractServiceRecord:
        record = un.ContractServiceRecord(
            id=max(self._services, default=0) + 1,
            contract_id=contract.id,
            service_id=service.id,
            unit_price=unit_price,
            unit_cost=unit_cost,
            adjusted_price=None,
            invoice_description=service.invoice_description or service.name,
            internal_description=None,
            quote_item_id=None,
            start=start,
            unit_changes=[(start, units)],
            price_changes=[un.PriceChange(start, unit_price, unit_cost)],
        )
        self._services[record.id] = record
        return record

    def update_contract_service(
        self, body: object, *, contract_id: int | None, replace: bool
    ) -> int:
        """PATCH (or PUT) a contract service: only adjustedPrice and invoiceDescription move."""
        values = read_body(body, en.CONTRACT_SERVICES)
        require(values, "id")
        with self._lock:
            record = self._services.get(values["id"])
            if record is None or contract_id not in (None, record.contract_id):
                raise rule(f"ContractService {values['id']} was not found.")
            current = record.to_json()
            for name, value in values.items():
                if name not in CONTRACT_SERVICE_WRITABLE | {"id"} and value != current[name]:
                    raise rule(f"The field {name} of a ContractService cannot be updated.")
            if replace or "invoiceDescription" in values:
                record.invoice_description = values.get("invoiceDescription")
            if replace or "adjustedPrice" in values:
                adjusted = values.get("adjustedPrice")
                if adjusted != record.adjusted_price:
                    contract = self.contracts[record.contract_id]
                    since = max(
                        un.posted_until(contract, self._posted.get(contract.id)), record.start
                    )
                    price = adjusted if adjusted is not None else record.unit_price
                    record.price_changes.append(un.PriceChange(since, price, None))
                    record.adjusted_price = adjusted
            self._refresh(record)
            return record.id

    # ----- adjustments -------------------------------------------------------------------

    def create_adjustment(self, body: object, *, contract_id: int | None) -> int:
        """A ContractServiceAdjustment: ``unitChange`` units from ``effectiveDate`` on."""
        values = read_body(body, en.CONTRACT_SERVICE_ADJUSTMENTS)
        if contract_id is not None:
            _same_parent(values, contract_id)
            values["contractID"] = contract_id
        require(values, "effectiveDate", "unitChange")
        effective, change = day(values, "effectiveDate"), int(values["unitChange"])
        with self._lock:
            record = self._adjusted_service(values)
            contract = (
                self.contracts[record.contract_id]
                if record
                else self._recurring(values["contractID"])
            )
            service = (
                self.services[record.service_id] if record else self._service(values["serviceID"])
            )
            if not contract.start_date <= effective <= contract.end_date:
                raise rule(
                    f"The effective date {effective.isoformat()} is outside contract "
                    f"{contract.id}'s dates ({contract.start_date} to {contract.end_date})."
                )
            self._refuse_posted(contract, effective, "An adjustment")
            price, cost = values.get("adjustedUnitPrice"), values.get("adjustedUnitCost")
            if record is None:
                if change < 0:
                    raise rule("The contract service's units cannot be less than zero.")
                record = self._new_service(
                    contract,
                    service,
                    start=effective,
                    units=change,
                    unit_price=price if price is not None else service.unit_price,
                    unit_cost=cost if cost is not None else service.unit_cost,
                )
            else:
                self._adjust(record, effective, change, price, cost)
            self._refresh(record)
            adjustment_id = len(self._adjustments) + 1
            self._adjustments.append(
                {
                    "id": adjustment_id,
                    "contractID": contract.id,
                    "contractServiceID": record.id,
                    "serviceID": service.id,
                    "effectiveDate": effective.isoformat(),
                    "unitChange": change,
                    "adjustedUnitPrice": None if price is None else str(price),
                    "adjustedUnitCost": None if cost is None else str(cost),
                }
            )
            return adjustment_id

    def _adjusted_service(self, values: dict[str, Any]) -> un.ContractServiceRecord | None:
        """The contract service an adjustment names; None when it is to be created."""
        record_id = values.get("contractServiceID")
        if record_id is not None:
            record = self._services.get(record_id)
            if record is None:
                raise no_reference("contractServiceID")
            for name, value in (
                ("contractID", record.contract_id),
                ("serviceID", record.service_id),
            ):
                if values.get(name) not in (None, value):
                    raise rule(f"{name} does not match contract service {record.id}.")
            return record
        if values.get("contractID") is None or values.get("serviceID") is None:
            raise rule("Either contractServiceID, or contractID and serviceID, are required.")
        contract = self._recurring(values["contractID"])
        service = self._service(values["serviceID"])
        if values.get("allowRepeatService"):
            return None
        return next(
            (
                r
                for r in sorted(self._services.values(), key=lambda r: r.id)
                if r.contract_id == contract.id and r.service_id == service.id
            ),
            None,
        )

    def _adjust(
        self,
        record: un.ContractServiceRecord,
        effective: dt.date,
        change: int,
        price: Decimal | None,
        cost: Decimal | None,
    ) -> None:
        if effective < record.start:
            raise rule(
                f"The effective date {effective.isoformat()} is before contract service "
                f"{record.id} starts ({record.start.isoformat()})."
            )
        changes = [*record.unit_changes, (effective, change)]
        for when in sorted({d for d, _ in changes if d >= effective}):
            if sum(delta for d, delta in changes if d <= when) < 0:
                raise rule(
                    f"The contract service's units cannot be less than zero "
                    f"(they would be on {when.isoformat()})."
                )
        record.unit_changes = changes
        if price is not None or cost is not None:
            record.price_changes.append(un.PriceChange(effective, price, cost))

    # ----- charges -----------------------------------------------------------------------

    def create_charge(self, contract_id: int, body: object) -> int:
        values = read_body(body, en.CONTRACT_CHARGES)
        _same_parent(values, contract_id)
        require(values, "name", "datePurchased", "unitQuantity")
        with self._lock:
            contract = self._contract(contract_id)
            self._refuse_posted(contract, day(values, "datePurchased"), "A charge")
            charge = ChargeRecord(
                id=max(self._charges, default=0) + 1,
                contract_id=contract.id,
                name=values["name"],
                description=values.get("description"),
                date_purchased=day(values, "datePurchased"),
                unit_quantity=values["unitQuantity"],
                unit_price=values.get("unitPrice"),
                unit_cost=values.get("unitCost"),
                is_billable_to_company=_given(values, "isBillableToCompany", True),
            )
            self._charges[charge.id] = charge
            return charge.id

    def update_charge(self, contract_id: int, body: object, *, replace: bool) -> int:
        values = read_body(body, en.CONTRACT_CHARGES)
        _same_parent(values, contract_id)
        require(values, "id")
        if replace:
            require(values, "name", "datePurchased", "unitQuantity")
        with self._lock:
            contract = self._contract(contract_id)
            current = self._charge(contract_id, values["id"])
            merged = {} if replace else current.writable()
            merged.update({k: v for k, v in values.items() if k in CHARGE_WRITABLE})
            merged.setdefault("isBillableToCompany", True)
            require(merged, "name", "datePurchased", "unitQuantity")
            self._refuse_posted(contract, current.date_purchased, "A charge")
            self._refuse_posted(contract, merged["datePurchased"], "A charge")
            self._charges[current.id] = dataclasses.replace(
                current,
                name=merged["name"],
                description=merged.get("description"),
                date_purchased=merged["datePurchased"],
                unit_quantity=merged["unitQuantity"],
                unit_price=merged.get("unitPrice"),
                unit_cost=merged.get("unitCost"),
                is_billable_to_company=bool(merged["isBillableToCompany"]),
            )
            return current.id

    def delete_charge(self, contract_id: int, charge_id: int) -> int:
        with self._lock:
            contract = self._contract(contract_id)
            current = self._charge(contract_id, charge_id, status=404)
            self._refuse_posted(contract, current.date_purchased, "A charge")
            del self._charges[current.id]
            return current.id

    def _charge(self, contract_id: int, charge_id: object, *, status: int = 500) -> ChargeRecord:
        charge = self._charges.get(charge_id) if isinstance(charge_id, int) else None
        if charge is None or charge.contract_id != contract_id:
            raise AutotaskError(
                status, f"ContractCharge {charge_id} was not found on contract {contract_id}."
            )
        return charge

    # ----- billing -----------------------------------------------------------------------

    def billing(self, contract_id: int) -> list[dict[str, Any]]:
        """What Autotask bills for the contract: recurring and prorated lines, and charges."""
        with self._lock:
            items: list[dict[str, Any]] = []
            for record_id in sorted(self._rows):
                record = self._services[record_id]
                if record.contract_id != contract_id:
                    continue
                for item in un.billing_items([row for _, row in self._rows[record_id]]):
                    items.append({"serviceID": record.service_id, **item})
            for charge in sorted(self._charges.values(), key=lambda c: c.id):
                if charge.contract_id == contract_id and charge.is_billable_to_company:
                    amount = charge.unit_quantity * (charge.unit_price or 0)
                    items.append(
                        {
                            "contractChargeID": charge.id,
                            "kind": "charge",
                            "date": charge.date_purchased.isoformat(),
                            "units": str(charge.unit_quantity),
                            "unitPrice": str(charge.unit_price or 0),
                            "amount": str(amount),
                            "posted": self._in_posted_period(contract_id, charge.date_purchased),
                        }
                    )
            return items

    def _refresh(self, record: un.ContractServiceRecord) -> None:
        """Recompute the record's units rows; a row keeps its id while its start stays."""
        contract = self.contracts[record.contract_id]
        posted_end = un.posted_until(contract, self._posted.get(contract.id))
        rows = []
        for row in un.unit_rows(record, contract, posted_end):
            key = (record.id, row.start)
            if key not in self._unit_ids:
                self._unit_ids[key] = len(self._unit_ids) + 1
            rows.append((self._unit_ids[key], row))
        self._rows[record.id] = rows


def _same_parent(values: dict[str, Any], contract_id: int) -> None:
    if values.get("contractID") not in (None, contract_id):
        raise rule(
            f"contractID {values['contractID']} does not match the parent contract {contract_id}."
        )


def _given(values: dict[str, Any], name: str, default: Any) -> Any:
    value = values.get(name)
    return default if value is None else value


def _company_json(company: fx.Company) -> dict[str, Any]:
    return {
        "id": company.id,
        "companyName": company.company_name,
        "companyNumber": company.company_number,
        "companyType": company.company_type,
        "isActive": company.is_active,
        "currencyID": company.currency_id,
        "parentCompanyID": company.parent_company_id,
    }


def _currency_json(currency: fx.Currency) -> dict[str, Any]:
    return {
        "id": currency.id,
        "name": currency.name,
        "description": currency.description,
        "exchangeRate": currency.exchange_rate,
        "isInternalCurrency": currency.is_internal_currency,
        "isActive": currency.is_active,
    }


def _service_json(service: fx.Service) -> dict[str, Any]:
    return {
        "id": service.id,
        "name": service.name,
        "description": service.description,
        "invoiceDescription": service.invoice_description,
        "unitPrice": service.unit_price,
        "unitCost": service.unit_cost,
        "periodType": service.period_type,
        "sku": service.sku,
        "catalogNumberPartNumber": service.catalog_number_part_number,
        "manufacturerServiceProvider": service.manufacturer_service_provider,
        "manufacturerServiceProviderProductNumber": (
            service.manufacturer_service_provider_product_number
        ),
        "vendorCompanyID": service.vendor_company_id,
        "isActive": service.is_active,
    }


def _contract_json(contract: fx.Contract) -> dict[str, Any]:
    return {
        "id": contract.id,
        "contractName": contract.contract_name,
        "contractNumber": contract.contract_number,
        "companyID": contract.company_id,
        "contractType": contract.contract_type,
        "status": contract.status,
        "contractPeriodType": contract.contract_period_type,
        "billingPreference": contract.billing_preference,
        "startDate": contract.start_date,
        "endDate": contract.end_date,
        "description": contract.description,
        "purchaseOrderNumber": contract.purchase_order_number,
        "isDefaultContract": contract.is_default_contract,
    }
