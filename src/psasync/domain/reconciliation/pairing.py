"""Pairing one catalog item's subscription products with the additions that bill it.

A ``Line`` is a mapped subscription product, a ``Held`` an addition ongoing on D with its
agreement. :func:`pair` gives each line at most one addition, closest fit first; what is left
over is a surplus copy or an orphan (see :mod:`.compare`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from psasync.domain.agreements import Addition, Agreement, AgreementStatus, CatalogItem
from psasync.domain.billing import billing_cycle_for
from psasync.domain.reconciliation.amounts import monthly, months_in_cycle
from psasync.domain.reconciliation.model import MarketplaceProduct, MarketplaceSubscription


@dataclass(frozen=True)
class Line:
    """A mapped subscription product."""

    subscription: MarketplaceSubscription
    product: MarketplaceProduct
    item: CatalogItem

    @property
    def currency(self) -> str:
        return self.subscription.currency


@dataclass(frozen=True)
class Held:
    """An addition ongoing on D, with its agreement."""

    agreement: Agreement
    addition: Addition

    @property
    def live(self) -> bool:
        """On an agreement that bills: Active and not cancelled."""
        agreement = self.agreement
        return agreement.status is AgreementStatus.ACTIVE and not agreement.cancelled

    def billed(self) -> Fraction:
        """What it bills per month."""
        months = months_in_cycle(self.agreement.billing_cycle)
        return monthly(self.addition.quantity, self.addition.unit_price, months=months)


def same_currency(line: Line, held: Held) -> bool:
    return held.agreement.currency.code == line.currency


def same_terms(line: Line, held: Held) -> bool:
    cycle = billing_cycle_for(line.subscription.billing_period)
    return same_currency(line, held) and held.agreement.billing_cycle is cycle


def same_quantity(line: Line, held: Held) -> bool:
    return held.addition.quantity == line.product.quantity


Pairs = Callable[[Line, Held], bool]


def both(first: Pairs, second: Pairs) -> Pairs:
    return lambda line, held: first(line, held) and second(line, held)


def pair(lines: Sequence[Line], pool: list[Held], *, same_price: Pairs) -> dict[int, Held]:
    """Each line's addition, by line index; the ones claimed leave ``pool``.

    Pass by pass, from the closest fit to the loosest: an addition that already bills what
    the line wants (on an agreement of its terms, then of its currency), then one of the
    same quantity on an agreement of its terms, then any on such an agreement, then any
    in its currency. ``same_price`` says whether an addition bills the line's price.
    """
    exact = both(same_quantity, same_price)
    passes = (
        both(same_terms, exact),
        both(same_currency, exact),
        both(same_terms, same_quantity),
        same_terms,
        same_currency,
    )
    claims: dict[int, Held] = {}
    for pairs in passes:
        for index, line in enumerate(lines):
            if index in claims:
                continue
            match = next((h for h in pool if pairs(line, h)), None)
            if match is not None:
                claims[index] = match
                pool.remove(match)
    return claims
