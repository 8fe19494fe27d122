"""Deciding an adjustment's outcome without reading it back (DESIGN §11).

Autotask's service adjustments can be written but never read, tagged or deleted; what they did
shows only in the contract service units. So before an adjustment psasync reads the units at its
effective date (``before``) and journals ``before + change``; when the answer to the write never
came, the units at that date are read again:

- equal to ``before + change`` → the adjustment was applied;
- equal to ``before`` → it was not (yet) applied: it may be sent again, once the quiet period
  of DESIGN §6 has passed without it showing up;
- anything else → someone else changed the units meanwhile: :class:`AdjustmentConflict`,
  naming both numbers, never a blind retry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from psasync.adapters.autotask.errors import VENDOR, AdjustmentConflict
from psasync.adapters.http import OutcomeUnknown


class AdjustmentOutcome(StrEnum):
    APPLIED = "applied"
    NOT_APPLIED = "notApplied"


@dataclass(frozen=True)
class AdjustmentExpectation:
    """What one adjustment should do: the units of ``service_id`` on the contract at
    ``effective_date`` move from ``before`` by ``change``. The journal keeps this."""

    agreement_id: int
    service_id: int
    effective_date: dt.date
    before: Decimal
    change: Decimal

    @property
    def after(self) -> Decimal:
        return self.before + self.change


def decide(expectation: AdjustmentExpectation, units_now: Decimal) -> AdjustmentOutcome:
    """The outcome the units read at the effective date show (see the module docstring)."""
    if units_now == expectation.after:
        return AdjustmentOutcome.APPLIED
    if units_now == expectation.before:
        return AdjustmentOutcome.NOT_APPLIED
    raise AdjustmentConflict(
        f"Autotask shows {units_now} units of service {expectation.service_id} on contract "
        f"{expectation.agreement_id} on {expectation.effective_date}: neither the "
        f"{expectation.before} before the adjustment of {expectation.change:+} nor the "
        f"{expectation.after} after it. Someone else changed the units; psasync does not "
        "write again before a person has looked.",
        before=expectation.before,
        expected=expectation.after,
        found=units_now,
    )


class AdjustmentOutcomeUnknown(OutcomeUnknown):
    """An adjustment whose answer never came and whose units do not show it (yet).

    ``expectation`` is what to journal and to decide by later (:func:`decide` on
    ``AutotaskPsa.units_at``), over the quiet period, before sending it again.
    """

    def __init__(self, message: str, *, expectation: AdjustmentExpectation) -> None:
        super().__init__(message, vendor=VENDOR)
        self.expectation = expectation
