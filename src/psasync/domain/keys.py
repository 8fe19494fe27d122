"""Idempotency keys on ConnectWise additions: how they are written, read and found again.

Without a configured custom field, the key rides as a marked suffix of the addition's internal
``description``; the customer's invoice shows ``invoiceDescription`` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from psasync.domain.agreements import Addition
from psasync.domain.plan import Action, Plan, PlannedAddition

_MARK = re.compile(r"\s*\[psasync (task:\d+:line\d+:[a-z_]+)\]\s*$")


def mark_description(description: str, key: str) -> str:
    """The internal description with the key appended: ``"Microsoft 365 E3 [psasync task:…]"``."""
    text = _MARK.sub("", description).rstrip()
    mark = f"[psasync {key}]"
    return f"{text} {mark}" if text else mark


def read_marked_key(description: str | None) -> str | None:
    """The key a description was marked with, or None."""
    found = _MARK.search(description or "")
    return found.group(1) if found else None


def find_applied(plan: Plan, additions: Iterable[Addition]) -> dict[str, int]:
    """Which of the plan's actions ConnectWise already shows, by key → addition id.

    A create is applied when an addition carries its key; a cancel or update when its target
    already has the planned values. Used to resume a sync without writing anything twice.
    """
    return find_applied_actions(plan.actions, additions)


def find_applied_actions(
    actions: Iterable[PlannedAddition], additions: Iterable[Addition]
) -> dict[str, int]:
    """:func:`find_applied` for actions kept without their plan (a sync run's journal)."""
    additions = sorted(additions, key=lambda addition: addition.id)
    by_key = {a.sync_key: a.id for a in reversed(additions) if a.sync_key}
    by_id = {a.id: a for a in additions}
    applied: dict[str, int] = {}
    for action in actions:
        found = _find(action, by_key=by_key, by_id=by_id)
        if found is not None:
            applied[action.key] = found
    return applied


def _find(
    action: PlannedAddition, *, by_key: Mapping[str, int], by_id: Mapping[int, Addition]
) -> int | None:
    if action.action is Action.CREATE:
        return by_key.get(action.key)
    target = by_id.get(action.addition_id) if action.addition_id is not None else None
    if target is None or not _has_target_values(action, target):
        return None
    return target.id


def _has_target_values(action: PlannedAddition, target: Addition) -> bool:
    if action.action is Action.CANCEL:
        return target.cancelled_date == action.cancelled_date
    return (target.quantity, target.unit_price, target.unit_cost) == (
        action.quantity,
        action.unit_price,
        action.unit_cost,
    )
