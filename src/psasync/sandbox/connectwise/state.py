"""The emulator's data: loaded from the fixture, kept in memory, changed under a lock.

Reference data (companies, catalog, agreements…) is read-only; agreement additions are created,
patched, replaced and deleted, and agreements can be marked invoiced through a day (a control
endpoint stands in for the vendor's invoice run). Every change happens inside one lock, from the
read of the current value to the store of the new one, so concurrent requests never lose an
update or share an id, and an invoice run never slips between a write's check and its store.
"""

from __future__ import annotations

import datetime as dt
import hmac
import threading
from typing import Any

from psasync.sandbox.connectwise import fixture as fx
from psasync.sandbox.connectwise import invoicing
from psasync.sandbox.connectwise.errors import not_found
from psasync.sandbox.connectwise.resources import AdditionRecord, AgreementParts
from psasync.sandbox.connectwise.validation import (
    AdditionContext,
    apply_patch,
    build_record,
    draft_for_create,
    draft_of,
)


class ConnectWiseState:
    """One emulator instance's data."""

    def __init__(self, fixture: fx.ConnectWiseFixture) -> None:
        self.credentials = tuple(fixture.credentials)
        self.companies = {company.id: company for company in fixture.companies}
        self.currencies = {currency.id: currency for currency in fixture.currencies}
        self.billing_cycles = {cycle.id: cycle for cycle in fixture.billing_cycles}
        self.agreement_types = {kind.id: kind for kind in fixture.agreement_types}
        self.catalog = {item.id: item for item in fixture.catalog}
        self.agreements = {agreement.id: agreement for agreement in fixture.agreements}
        self._additions = {a.id: AdditionRecord.from_fixture(a) for a in fixture.additions}
        # Each agreement's additions in the same order (an agreement's list is read without
        # going through every addition of the site).
        self._by_agreement: dict[int, dict[int, AdditionRecord]] = {}
        for record in self._additions.values():
            self._by_agreement.setdefault(record.agreement_id, {})[record.id] = record
        self._invoiced_through = {
            a.id: a.next_invoice_date - dt.timedelta(days=1)
            for a in fixture.agreements
            if a.next_invoice_date is not None
        }
        self._lock = threading.Lock()

    def credential(
        self, company_id: str, public_key: str, private_key: str
    ) -> fx.Credential | None:
        """The credential these keys belong to, or None (compared in constant time)."""
        for credential in self.credentials:
            if (
                credential.company_id == company_id
                and credential.public_key == public_key
                and hmac.compare_digest(credential.private_key, private_key)
            ):
                return credential
        return None

    def agreement(self, agreement_id: int) -> fx.Agreement:
        agreement = self.agreements.get(agreement_id)
        if agreement is None:
            raise not_found(f"Agreement with id {agreement_id} was not found.")
        return agreement

    def agreement_parts(self, agreement: fx.Agreement) -> AgreementParts:
        """The objects the agreement refers to (their existence is checked at load)."""
        return AgreementParts(
            company=self.companies[agreement.company.id],
            type=self.agreement_types[agreement.type.id],
            billing_cycle=self.billing_cycles.get(agreement.billing_cycle.id)
            if agreement.billing_cycle
            else None,
            currency=self.currencies.get(agreement.currency.id) if agreement.currency else None,
        )

    def additions_of(self, agreement_id: int) -> list[AdditionRecord]:
        self.agreement(agreement_id)
        with self._lock:
            return list(self._by_agreement.get(agreement_id, {}).values())

    def addition(self, agreement_id: int, addition_id: int) -> AdditionRecord:
        self.agreement(agreement_id)
        with self._lock:
            return self._find(agreement_id, addition_id)

    def _find(self, agreement_id: int, addition_id: int) -> AdditionRecord:
        record = self._additions.get(addition_id)
        if record is None or record.agreement_id != agreement_id:
            raise not_found(
                f"Addition with id {addition_id} was not found on agreement {agreement_id}."
            )
        return record

    def invoiced_through(self, agreement_id: int) -> dt.date | None:
        """The last day the agreement has been invoiced for, or None when never invoiced."""
        with self._lock:
            return self._invoiced_through.get(agreement_id)

    def invoiced(self) -> dict[int, dt.date]:
        """Every invoiced agreement's last invoiced day, by agreement id."""
        with self._lock:
            return dict(self._invoiced_through)

    def mark_invoiced(self, agreement_id: int, through: dt.date) -> None:
        """An invoice run: the agreement is billed up to and including ``through``."""
        self.agreement(agreement_id)
        with self._lock:
            self._invoiced_through[agreement_id] = through

    def create_addition(self, agreement_id: int, body: object) -> AdditionRecord:
        """Validate and store a new addition; an invalid one stores nothing."""
        context = self._context(agreement_id)
        draft = draft_for_create(body)
        with self._lock:
            record_id = max(self._additions, default=0) + 1
            record = build_record(draft, record_id=record_id, context=context, creating=True)
            invoicing.check_create(
                record,
                through=self._invoiced_through.get(agreement_id),
                bill_start=context.agreement.bill_start_date,
            )
            self._store(record)
        return record

    def patch_addition(
        self, agreement_id: int, addition_id: int, operations: object
    ) -> AdditionRecord:
        """Apply a JSON Patch; the patched addition must be valid or nothing changes."""
        context = self._context(agreement_id)
        with self._lock:
            current = self._find(agreement_id, addition_id)
            draft = apply_patch(draft_of(current), operations)
            return self._replace(current, draft, context)

    def put_addition(self, agreement_id: int, addition_id: int, body: object) -> AdditionRecord:
        """Replace an addition whole (PUT): every field required on updates must be sent."""
        context = self._context(agreement_id)
        draft = draft_for_create(body)
        with self._lock:
            return self._replace(self._find(agreement_id, addition_id), draft, context)

    def delete_addition(self, agreement_id: int, addition_id: int) -> None:
        """Delete an addition that has not billed yet (404 when it is already gone)."""
        agreement = self.agreement(agreement_id)
        with self._lock:
            current = self._find(agreement_id, addition_id)
            invoicing.check_delete(
                current,
                through=self._invoiced_through.get(agreement_id),
                bill_start=agreement.bill_start_date,
            )
            del self._additions[current.id]
            del self._by_agreement[current.agreement_id][current.id]

    def _replace(
        self, current: AdditionRecord, draft: dict[str, Any], context: AdditionContext
    ) -> AdditionRecord:
        # Called with the lock held, so the check and the store see one invoiced date.
        record = build_record(draft, record_id=current.id, context=context, creating=False)
        invoicing.check_update(
            current,
            record,
            through=self._invoiced_through.get(current.agreement_id),
            bill_start=context.agreement.bill_start_date,
        )
        self._store(record)
        return record

    def _store(self, record: AdditionRecord) -> None:
        """Keep a new or changed addition (with the lock held), in both orders."""
        self._additions[record.id] = record
        self._by_agreement.setdefault(record.agreement_id, {})[record.id] = record

    def _context(self, agreement_id: int) -> AdditionContext:
        return AdditionContext(agreement=self.agreement(agreement_id), catalog=self.catalog)
