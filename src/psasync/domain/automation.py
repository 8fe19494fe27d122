"""The auto-sync policy (DESIGN §8): which tasks an unattended run syncs without review.

A task syncs without review only when its order type is in the policy, exactly one agreement is
eligible (for a Change Order: the one already carrying the product), the plan has no warnings,
credits are allowed or absent, and the task's total this period (prorated + one-time) is within
the limit. Everything else waits for a person, with the reason in words:

    >>> choose_agreement(policy, order_type=OrderType.BILLING, eligible=())
    Wait(reason='Billing Orders are not in the auto-sync policy')

The unattended run calls :func:`choose_agreement` first (is there one agreement to plan on?),
plans on it, and then :func:`decide` with the plan's :class:`PlanFacts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from psasync.domain.orders import OrderType
from psasync.domain.plan import AdditionKind, Plan, PriceSource

AUTO_SYNC_OFF = "auto-sync is off"
NO_ELIGIBLE_AGREEMENT = "no eligible agreement"
NO_AGREEMENT_CARRIES = "no eligible agreement already carries the product"
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "AUD": "A$", "CAD": "CA$", "JPY": "¥"}
MINUS = "\N{MINUS SIGN}"


@dataclass(frozen=True)
class AutoSyncPolicy:
    """A tenant's auto-sync policy; no order types: auto-sync is off (the default).

    ``max_amount`` None: no limit on a task's total.
    """

    order_types: frozenset[OrderType] = frozenset()
    price_source: PriceSource = PriceSource.MARKETPLACE
    allow_credits: bool = False
    max_amount: Decimal | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.order_types)


@dataclass(frozen=True)
class AgreementOption:
    """An eligible agreement of the task's customer. ``carries_product``: it already has an
    ongoing addition of the order's product (what a Change Order needs)."""

    id: int
    name: str
    carries_product: bool = False


@dataclass(frozen=True)
class PlanFacts:
    """What the policy reads of a plan: its warnings (notice codes), its credit (the sum of
    its negative prorate lines, or for a PSA that prorates itself of what it will credit per
    change of units; ≤ 0), its total billed this period (prorated + one-time)."""

    warnings: tuple[str, ...]
    credit: Decimal
    total: Decimal
    currency: str
    decimals: int = 2

    @classmethod
    def of(cls, plan: Plan) -> PlanFacts:
        """The facts of the additions a sync of ``plan`` writes (a line left out is not)."""
        billable = [a for a in plan.written_actions if a.billable]
        if plan.psa.prorates_itself:
            # No prorate lines: the PSA credits a change of units by itself (Autotask).
            prorates = (plan.psa_prorated(a) for a in billable)
        else:
            prorates = (plan.extended_price(a) for a in billable if a.kind is AdditionKind.PRORATE)
        zero = Decimal(0).scaleb(-plan.currency.decimals)
        return cls(
            warnings=tuple(dict.fromkeys(notice.code.value for notice in plan.notices)),
            credit=sum((amount for amount in prorates if amount < 0), start=zero),
            total=plan.prorated_amount + plan.one_time_amount,
            currency=plan.currency.code,
            decimals=plan.currency.decimals,
        )


@dataclass(frozen=True)
class SyncTo:
    """Sync the task without review, to this agreement."""

    agreement_id: int


@dataclass(frozen=True)
class Wait:
    """Leave the task for a person; ``reason`` says why, in words."""

    reason: str


Decision = SyncTo | Wait


def choose_agreement(
    policy: AutoSyncPolicy, *, order_type: OrderType, eligible: Sequence[AgreementOption]
) -> Decision:
    """The agreement to plan on, or why the task waits before any plan is made."""
    if not policy.enabled:
        return Wait(AUTO_SYNC_OFF)
    if order_type not in policy.order_types:
        return Wait(f"{order_type.label}s are not in the auto-sync policy")
    if not eligible:
        return Wait(NO_ELIGIBLE_AGREEMENT)
    candidates = list(eligible)
    if order_type is OrderType.CHANGE:
        candidates = [option for option in eligible if option.carries_product]
        if not candidates:
            return Wait(NO_AGREEMENT_CARRIES)
    if len(candidates) > 1:
        return Wait(f"{len(candidates)} agreements eligible")
    return SyncTo(candidates[0].id)


def decide(
    policy: AutoSyncPolicy,
    *,
    order_type: OrderType,
    eligible: Sequence[AgreementOption],
    plan: PlanFacts,
) -> Decision:
    """Sync (to which agreement) or wait (why), per DESIGN §8, given the plan on the agreement
    :func:`choose_agreement` chose."""
    chosen = choose_agreement(policy, order_type=order_type, eligible=eligible)
    if isinstance(chosen, Wait):
        return chosen
    if plan.warnings:
        return Wait(_warnings(plan.warnings))
    if plan.credit < 0 and not policy.allow_credits:
        return Wait(
            f"credit of {format_amount(plan.credit, plan.currency, plan.decimals)} needs review"
        )
    if policy.max_amount is not None and plan.total > policy.max_amount:
        total = format_amount(plan.total, plan.currency, plan.decimals)
        limit = format_amount(policy.max_amount, plan.currency, plan.decimals)
        return Wait(f"total {total} above the {limit} limit")
    return chosen


def _warnings(codes: Iterable[str]) -> str:
    listed = list(codes)
    if len(listed) == 1:
        article = "an" if listed[0][:1].upper() in "AEIOU" else "a"
        return f"plan has {article} {listed[0]} warning"
    return f"plan has {len(listed)} warnings: {', '.join(listed)}"


def format_amount(amount: Decimal, currency: str, decimals: int = 2) -> str:
    """``$1,250.00``, ``−$33.00``, ``1,250.00 CHF`` (a true minus sign)."""
    digits = f"{abs(amount):,.{decimals}f}"
    symbol = _SYMBOLS.get(currency.upper())
    text = f"{symbol}{digits}" if symbol else f"{digits} {currency.upper()}"
    return f"{MINUS}{text}" if amount < 0 else text
