"""Which of a plan's actions a PSA already shows, found by idempotency key or target values.

Every create carries a key (``task:7:line1:recurring``); the PSA adapter writes it where the PSA
keeps it and reads it back as ``Addition.sync_key`` — where that is (a marked description, a
custom field) is the adapter's business, not the domain's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from psasync.domain.agreements import Addition
from psasync.domain.plan import Action, PlannedAddition


@dataclass(frozen=True)
class Located:
    """Where ConnectWise shows an action's work: the addition, and the fields still different.

    ``differences`` empty means applied. A create found by its key with other values was written
    and then changed: the sync sets those fields rather than creating a second addition.
    """

    addition_id: int
    differences: tuple[str, ...] = ()

    @property
    def applied(self) -> bool:
        return not self.differences


def locate_actions(
    actions: Iterable[PlannedAddition], additions: Iterable[Addition]
) -> dict[str, Located]:
    """For each action ConnectWise shows a trace of, where and how far it is applied."""
    additions = sorted(additions, key=lambda addition: addition.id)
    by_key = {a.sync_key: a for a in reversed(additions) if a.sync_key}
    by_id = {a.id: a for a in additions}
    located: dict[str, Located] = {}
    for action in actions:
        found = _locate(action, by_key=by_key, by_id=by_id)
        if found is not None:
            located[action.key] = found
    return located


def _locate(
    action: PlannedAddition, *, by_key: Mapping[str, Addition], by_id: Mapping[int, Addition]
) -> Located | None:
    if action.action is Action.CREATE:
        created = by_key.get(action.key)
        if created is None:
            return None
        return Located(created.id, written_differences(action, created))
    if action.addition_id is None:
        return None
    target = by_id.get(action.addition_id)
    if action.action is Action.DELETE:
        return Located(action.addition_id) if target is None else None
    if target is None:
        return None
    return Located(target.id, written_differences(action, target))


def written_differences(action: PlannedAddition, addition: Addition) -> tuple[str, ...]:
    """The ConnectWise fields ``action`` writes on which ``addition`` shows another value."""
    wanted = _written_fields(action)
    shown = _shown_fields(addition)
    return tuple(name for name, value in wanted.items() if shown[name] != value)


def _written_fields(action: PlannedAddition) -> dict[str, object]:
    if action.action is Action.CANCEL:
        return {"cancelledDate": action.cancelled_date}
    if action.action is Action.DELETE:
        return {}
    fields: dict[str, object] = {
        "quantity": action.quantity,
        "unitPrice": action.unit_price,
        "unitCost": action.unit_cost,
        "cancelledDate": action.cancelled_date,
        "billCustomer": action.bill_customer,
        "taxableFlag": action.taxable,
    }
    if action.action is Action.CREATE:
        fields["product"] = action.product.id
        fields["effectiveDate"] = action.effective_date
        fields["invoiceDescription"] = action.description
        fields["description"] = action.description
    elif action.description:
        fields["invoiceDescription"] = action.description
    return fields


def _shown_fields(addition: Addition) -> dict[str, object]:
    return {
        "product": addition.product.id,
        "quantity": addition.quantity,
        "unitPrice": addition.unit_price,
        "unitCost": addition.unit_cost,
        "effectiveDate": addition.effective_date,
        "cancelledDate": addition.cancelled_date,
        "billCustomer": addition.bill_customer,
        "taxableFlag": addition.taxable,
        "invoiceDescription": addition.invoice_description,
        "description": addition.description,
    }
