"""Reconciliation (DESIGN.md §9): the marketplace against ConnectWise, drift found, priced, fixed.

Pure: snapshots of both sides in, items out. ``reconcile_customer`` compares one customer,
``reconcile`` many; ``totals_by_kind`` and ``totals_by_customer`` sum a report. The readings
chosen are in ``docs/reconciliation.md``.
"""

from psasync.domain.reconciliation.amounts import (
    display_amount,
    months_in_cycle,
    months_in_period,
    totals_by_customer,
    totals_by_kind,
)
from psasync.domain.reconciliation.compare import reconcile, reconcile_customer
from psasync.domain.reconciliation.fixes import current_period, fix_key
from psasync.domain.reconciliation.model import (
    AgreementLines,
    CustomerSnapshot,
    Fix,
    FixTiming,
    ItemKind,
    MarketplaceProduct,
    MarketplaceSide,
    MarketplaceSubscription,
    PsaSide,
    ReconciliationError,
    ReconciliationItem,
    ReconciliationOptions,
    Total,
)

__all__ = [
    "AgreementLines",
    "CustomerSnapshot",
    "Fix",
    "FixTiming",
    "ItemKind",
    "MarketplaceProduct",
    "MarketplaceSide",
    "MarketplaceSubscription",
    "PsaSide",
    "ReconciliationError",
    "ReconciliationItem",
    "ReconciliationOptions",
    "Total",
    "current_period",
    "display_amount",
    "fix_key",
    "months_in_cycle",
    "months_in_period",
    "reconcile",
    "reconcile_customer",
    "totals_by_customer",
    "totals_by_kind",
]
