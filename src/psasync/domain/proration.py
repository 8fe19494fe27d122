"""Proration: the share of a full-period price owed for the rest of a period."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from psasync.domain.billing import BillingPeriod
from psasync.domain.errors import DomainError
from psasync.domain.money import round_half_up


class EffectiveDateOutsidePeriod(DomainError):
    """Proration asked for a date the billing period does not contain."""

    def __init__(self, effective_date: dt.date, period: BillingPeriod) -> None:
        super().__init__(
            f"effective date {effective_date.isoformat()} is outside the billing period "
            f"{period.span}"
        )
        self.effective_date = effective_date
        self.period = period


def prorated_unit_amount(
    unit_amount: Decimal,
    *,
    period: BillingPeriod,
    effective_date: dt.date,
    decimals: int = 2,
) -> Decimal:
    """The full-period ``unit_amount`` prorated to the days from ``effective_date`` to the end.

    ``(days_in_period - offset) * unit_amount / days_in_period`` with
    ``offset = (effective_date - period.start).days``, rounded once, half up, to ``decimals``.
    Used for unit prices and unit costs alike. On the period start there is nothing to prorate:
    the amount is returned exactly as given, unrounded, as the recurring line bills it.
    """
    if not period.contains(effective_date):
        raise EffectiveDateOutsidePeriod(effective_date, period)
    if effective_date == period.start:
        return unit_amount
    offset = (effective_date - period.start).days
    share = Fraction(period.days - offset, period.days)
    return round_half_up(share * Fraction(unit_amount), decimals)
