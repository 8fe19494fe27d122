"""Monthly amounts, item ids and totals of a reconciliation report.

Amounts are exact: a yearly price is divided by 12 as a fraction, and turned into a ``Decimal``
once, with 28 significant digits under a fixed context (whatever the caller's context is).
Only display rounds, to the currency's decimals, half up (``display_amount``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction
from typing import TypeVar

from psasync.domain.billing import BillingCycle, PeriodLength, PeriodUnit
from psasync.domain.money import Currency, round_half_up
from psasync.domain.reconciliation.model import ItemKind, ReconciliationItem, Total

_K = TypeVar("_K")
_EXACT = Context(prec=28, rounding=ROUND_HALF_EVEN)
# An average month: the marketplace's day-based periods are normalised with it.
_DAYS_PER_MONTH = Fraction(365, 12)
_MONTHS_PER_CYCLE = {
    BillingCycle.WEEKLY: Fraction(7) / _DAYS_PER_MONTH,
    BillingCycle.BIWEEKLY: Fraction(14) / _DAYS_PER_MONTH,
    BillingCycle.MONTHLY: Fraction(1),
    BillingCycle.BIMONTHLY: Fraction(2),
    BillingCycle.QUARTERLY: Fraction(3),
    BillingCycle.SEMIANNUAL: Fraction(6),
    BillingCycle.YEARLY: Fraction(12),
}


def months_in_period(length: PeriodLength) -> Fraction:
    """How many months one marketplace billing period lasts: ``year/1`` → 12."""
    if length.unit is PeriodUnit.DAY:
        return length.count / _DAYS_PER_MONTH
    return Fraction(length.count * (12 if length.unit is PeriodUnit.YEAR else 1))


def months_in_cycle(cycle: BillingCycle | None) -> Fraction:
    """How many months one ConnectWise billing cycle lasts; none or NotRecurring count as 1."""
    return _MONTHS_PER_CYCLE.get(cycle, Fraction(1)) if cycle is not None else Fraction(1)


def monthly(quantity: Decimal, unit_price: Decimal, *, months: Fraction) -> Fraction:
    """Quantity × unit price of one billing period, per month, exactly."""
    return Fraction(quantity) * Fraction(unit_price) / months


def to_decimal(value: Fraction) -> Decimal:
    """An exact fraction as a Decimal of 28 significant digits (exact when it terminates)."""
    return _EXACT.divide(Decimal(value.numerator), Decimal(value.denominator))


def display_amount(amount: Decimal, currency: Currency) -> Decimal:
    """An impact as a report shows it: rounded to the currency, half up."""
    return round_half_up(amount, currency.decimals)


def item_id(*parts: object) -> str:
    """A short, stable id of an item from the facts that identify it (12 hex digits)."""
    text = "|".join("" if part is None else str(part) for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def totals_by_kind(items: Iterable[ReconciliationItem]) -> dict[ItemKind, Total]:
    """Count and monthly impact per item kind, in the order of ``ItemKind``."""
    order = list(ItemKind)
    ranked = sorted(items, key=lambda item: order.index(item.kind))
    return _totals(ranked, key=lambda item: item.kind)


def totals_by_customer(items: Iterable[ReconciliationItem]) -> dict[str, Total]:
    """Count and monthly impact per marketplace customer id, in the order customers appear."""
    return _totals(items, key=lambda item: item.customer_id)


def _totals(
    items: Iterable[ReconciliationItem], *, key: Callable[[ReconciliationItem], _K]
) -> dict[_K, Total]:
    groups: dict[_K, list[ReconciliationItem]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return {name: _total(group) for name, group in groups.items()}


def _total(items: Sequence[ReconciliationItem]) -> Total:
    impact: dict[str, Decimal] = {}
    for item in items:
        if item.currency is not None:
            before = impact.get(item.currency, Decimal(0))
            impact[item.currency] = _EXACT.add(before, item.monthly_impact)
    return Total(count=len(items), impact=dict(sorted(impact.items())))
