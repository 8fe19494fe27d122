"""Invoiced periods: what ConnectWise refuses once an agreement has been invoiced through a day.

After an invoice run, the span up to and including ``through`` is billed. The vendor then
refuses any addition write that would change what that span billed, with
``400 InvalidObject … "this period has already been invoiced"``:

- a create whose ``effectiveDate`` is on or before ``through``;
- an update that moves ``cancelledDate`` inside the span (the line would stop billing in a
  billed period) or out of it (it would bill a period already invoiced without it);
  ``cancelledDate == through`` is allowed: that is the last billed day;
- an update that changes ``effectiveDate`` when the old or the new date is on or before ``through``;
- a delete of an addition whose ``effectiveDate`` is on or before ``through`` (it has billed).

Quantity and price changes only affect invoices still to come, so they stay allowed. An
addition without an ``effectiveDate`` bills from the agreement's ``billStartDate``.
"""

from __future__ import annotations

import datetime as dt

from psasync.sandbox.connectwise.errors import FieldProblem, VendorError, invalid_object
from psasync.sandbox.connectwise.resources import AdditionRecord

RESOURCE = "addition"
MESSAGE = "this period has already been invoiced"


def next_invoice_date(through: dt.date | None) -> dt.date | None:
    """The vendor's ``nextInvoiceDate``: the day after the last invoiced one (None: never)."""
    return None if through is None else through + dt.timedelta(days=1)


def check_create(
    record: AdditionRecord, *, through: dt.date | None, bill_start: dt.date | None
) -> None:
    """Refuse a new addition that starts inside the invoiced span."""
    if through is not None and _starts(record, bill_start) <= through:
        raise refused("effectiveDate")


def check_update(
    old: AdditionRecord,
    new: AdditionRecord,
    *,
    through: dt.date | None,
    bill_start: dt.date | None,
) -> None:
    """Refuse an update (PATCH or PUT) that changes what the invoiced span billed."""
    if through is None:
        return
    if old.effective_date != new.effective_date and (
        min(_starts(old, bill_start), _starts(new, bill_start)) <= through
    ):
        raise refused("effectiveDate")
    if old.cancelled_date != new.cancelled_date and _earliest_stop(old, new) < through:
        raise refused("cancelledDate")


def check_delete(
    record: AdditionRecord, *, through: dt.date | None, bill_start: dt.date | None
) -> None:
    """Refuse to delete an addition that has already billed."""
    if through is not None and _starts(record, bill_start) <= through:
        raise refused("effectiveDate")


def refused(field: str) -> VendorError:
    """The vendor's refusal, naming the field whose value touches the invoiced span."""
    return invalid_object(RESOURCE, [FieldProblem("InvalidField", field, MESSAGE)])


def _starts(record: AdditionRecord, bill_start: dt.date | None) -> dt.date:
    return record.effective_date or bill_start or dt.date.min


def _earliest_stop(old: AdditionRecord, new: AdditionRecord) -> dt.date:
    # No cancelledDate: the line bills on without end.
    stops = [day for day in (old.cancelled_date, new.cancelled_date) if day is not None]
    return min(stops, default=dt.date.max)
