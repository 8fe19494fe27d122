"""The emulator's picklists: the labels a fixture writes and the numbers the emulator gives them.

Autotask numbers picklist values per instance; clients must read them from
``/{Entity}/entityInformation/fields`` (``picklistValues``), never hard-code them. This module is
the only place the sandbox's numbering exists: the fixture names values by label ("Recurring
Service", "Active", "Monthly"), the emulator serves the numbers on entities and in ``fields``.
"""

from __future__ import annotations

from dataclasses import dataclass

from psasync.domain.billing import PeriodLength, PeriodUnit


@dataclass(frozen=True)
class Picklist:
    """One picklist field's values, ``(value, label)`` in their sort order, and its default."""

    values: tuple[tuple[int, str], ...]
    default: str | None = None

    def value_of(self, label: str) -> int:
        """The number of ``label`` (compared case-insensitively); ValueError naming the labels."""
        for value, known in self.values:
            if known.lower() == label.strip().lower():
                return value
        labels = ", ".join(repr(known) for _, known in self.values)
        raise ValueError(f"{label!r} is not one of {labels}")

    def label_of(self, value: int) -> str | None:
        return next((label for number, label in self.values if number == value), None)

    def has(self, value: object) -> bool:
        return any(number == value for number, _ in self.values)


COMPANY_TYPE = Picklist(
    (
        (1, "Customer"),
        (2, "Lead"),
        (3, "Prospect"),
        (4, "Dead"),
        (6, "Cancellation"),
        (7, "Vendor"),
        (8, "Partner"),
    ),
    default="Customer",
)
CONTRACT_TYPE = Picklist(
    (
        (1, "Time and Materials"),
        (3, "Fixed Price"),
        (4, "Block Hours"),
        (6, "Retainer"),
        (7, "Recurring Service"),
        (8, "Per Ticket"),
    ),
    default="Time and Materials",
)
CONTRACT_STATUS = Picklist(((0, "Inactive"), (1, "Active")), default="Active")
CONTRACT_PERIOD_TYPE = Picklist(
    ((1, "Monthly"), (2, "Quarterly"), (3, "Semi-Annual"), (4, "Yearly")), default="Monthly"
)
BILLING_PREFERENCE = Picklist(
    ((1, "Manual"), (2, "Immediately"), (3, "Timesheet")), default="Immediately"
)
SERVICE_PERIOD_TYPE = Picklist(
    ((1, "Monthly"), (2, "Quarterly"), (3, "Semi-Annual"), (4, "Yearly")), default="Monthly"
)

RECURRING_SERVICE = CONTRACT_TYPE.value_of("Recurring Service")

# How long one billing period of each contract period type lasts.
PERIOD_LENGTHS: dict[int, PeriodLength] = {
    CONTRACT_PERIOD_TYPE.value_of("Monthly"): PeriodLength(PeriodUnit.MONTH, 1),
    CONTRACT_PERIOD_TYPE.value_of("Quarterly"): PeriodLength(PeriodUnit.MONTH, 3),
    CONTRACT_PERIOD_TYPE.value_of("Semi-Annual"): PeriodLength(PeriodUnit.MONTH, 6),
    CONTRACT_PERIOD_TYPE.value_of("Yearly"): PeriodLength(PeriodUnit.YEAR, 1),
}
