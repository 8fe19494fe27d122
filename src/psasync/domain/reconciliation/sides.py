"""Both sides of an item as a report shows them: the marketplace's product, the PSA's lines."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from psasync.domain.agreements import Agreement
from psasync.domain.reconciliation.model import (
    MarketplaceProduct,
    MarketplaceSide,
    MarketplaceSubscription,
    PsaSide,
)
from psasync.domain.reconciliation.pairing import Held


def marketplace_side(
    subscription: MarketplaceSubscription, product: MarketplaceProduct
) -> MarketplaceSide:
    return MarketplaceSide(
        subscription_id=subscription.id,
        mpn=product.mpn,
        quantity=product.quantity,
        unit_price=product.unit_price,
        currency=subscription.currency,
        billing_period=subscription.billing_period,
    )


def psa_side(agreement: Agreement, held: Sequence[Held]) -> PsaSide:
    return PsaSide(
        agreement_id=agreement.id,
        agreement_name=agreement.name,
        addition_ids=tuple(h.addition.id for h in held),
        quantity=sum((h.addition.quantity for h in held), Decimal(0)),
        unit_price=held[0].addition.unit_price,
    )
