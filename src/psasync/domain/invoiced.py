"""Periods ConnectWise has already invoiced: a plan may not change billing inside them.

ConnectWise refuses such writes ("this period has already been invoiced"), so a sync that tried
would stop half-way. The plan says so up front, as blocking notices, before anything is written;
the notices are derived from the actions, so a reviewed plan gets them afresh.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from psasync.domain.agreements import Addition
from psasync.domain.plan import Action, Notice, NoticeCode, Plan, PlannedAddition


def with_invoiced_notices(plan: Plan) -> Plan:
    """The plan with one blocking ``PeriodInvoiced`` notice per action that touches an invoiced
    span, in place of any it had."""
    kept = tuple(n for n in plan.notices if n.code is not NoticeCode.PERIOD_INVOICED)
    return replace(plan, notices=kept + invoiced_notices(plan))


def invoiced_notices(plan: Plan) -> tuple[Notice, ...]:
    """A blocking notice per action that would change billing on or before the invoiced day."""
    through = plan.invoiced_through
    if through is None:
        return ()
    found = {addition.id: addition for addition in plan.baseline}
    notices = []
    for action in plan.written_actions:
        target = found.get(action.addition_id) if action.addition_id is not None else None
        problem = _problem(action, target, through)
        if problem is not None:
            notices.append(
                Notice(
                    code=NoticeCode.PERIOD_INVOICED,
                    message=f"Line {action.line}: {problem}, but the agreement is already "
                    f"invoiced through {through.isoformat()} and ConnectWise refuses changes "
                    "there. Move it after that date or leave it out.",
                    line=action.line,
                )
            )
    return tuple(notices)


def _problem(action: PlannedAddition, target: Addition | None, through: dt.date) -> str | None:
    """What the action would change inside the invoiced span, in words; None if nothing."""
    effective, cancelled = action.effective_date, action.cancelled_date
    if action.action is Action.CREATE:
        if effective <= through:
            return f"{action.key} takes effect on {effective.isoformat()}"
        return None
    if action.action is Action.DELETE:
        if effective <= through:
            return f"{action.key} deletes an addition billing since {effective.isoformat()}"
        return None
    # Cancels and updates write only the cancelled date among dates: ending on the invoiced
    # day itself bills what was invoiced; ending earlier, or un-ending there, does not.
    before = target.cancelled_date if target is not None else None
    if cancelled == before:
        return None
    earliest = min(day for day in (cancelled, before) if day is not None)
    if earliest < through:
        shown = cancelled.isoformat() if cancelled is not None else "no date"
        return f"{action.key} moves the cancelled date to {shown}"
    return None
