"""What should bill for a subscription product, priced from the tenant's price source for the
billing cycle of the agreement it bills on."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from psasync.domain.agreements import Addition, Agreement
from psasync.domain.money import round_half_up
from psasync.domain.plan import PriceOrigin, PriceSource
from psasync.domain.reconciliation.amounts import months_in_cycle, months_in_period
from psasync.domain.reconciliation.fixes import Wanted
from psasync.domain.reconciliation.model import ReconciliationOptions
from psasync.domain.reconciliation.pairing import Line


def wanted_for(
    line: Line,
    agreement: Agreement | None,
    current: Addition | None,
    *,
    options: ReconciliationOptions,
) -> Wanted:
    """What should bill for ``line``, priced for the billing cycle of ``agreement``.

    From the marketplace, a price for another cycle is converted and rounded to the
    currency; from ConnectWise, the current addition's price, else the catalog's.
    """
    period_months = months_in_period(line.subscription.billing_period)
    months = months_in_cycle(agreement.billing_cycle) if agreement else period_months
    if options.price_source is PriceSource.CONNECTWISE:
        if current is not None:
            return priced(
                line,
                current.unit_price,
                current.unit_cost,
                months=months,
                origin=PriceOrigin.EXISTING_ADDITION,
            )
        return priced(
            line,
            line.item.price,
            line.item.cost,
            months=period_months,
            origin=PriceOrigin.CATALOG,
        )
    price = line.product.unit_price
    cost = line.item.cost if line.product.unit_cost is None else line.product.unit_cost
    if agreement is None or months == period_months:
        return priced(line, price, cost, months=period_months)
    decimals = agreement.currency.decimals
    price, cost = (
        round_half_up(Fraction(amount) * months / period_months, decimals)
        for amount in (price, cost)
    )
    return priced(line, price, cost, months=months)


def priced(
    line: Line,
    price: Decimal,
    cost: Decimal,
    *,
    months: Fraction,
    origin: PriceOrigin = PriceOrigin.MARKETPLACE,
) -> Wanted:
    return Wanted(
        subscription=line.subscription,
        product=line.product,
        item=line.item,
        price=price,
        cost=cost,
        origin=origin,
        months=months,
    )
