"""Which ConnectWise agreements a task may be synchronized to, and why not the others."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from psasync.domain.agreements import Agreement, AgreementStatus
from psasync.domain.billing import PeriodLength, billing_cycle_for


class ReasonCode(StrEnum):
    CUSTOMER_NOT_MAPPED = "CustomerNotMapped"
    OTHER_COMPANY = "OtherCompany"
    NOT_ACTIVE = "NotActive"
    CANCELLED = "Cancelled"
    NO_MATCHING_CYCLE = "NoMatchingCycle"
    WRONG_BILLING_CYCLE = "WrongBillingCycle"
    WRONG_CURRENCY = "WrongCurrency"
    BEFORE_BILL_START = "BeforeBillStart"
    PERIOD_INVOICED = "PeriodInvoiced"


@dataclass(frozen=True)
class Reason:
    """Why an agreement cannot be chosen, in words a reseller understands."""

    code: ReasonCode
    message: str


@dataclass(frozen=True)
class SubscriptionTerms:
    """What a task requires of the agreement it is synchronized to.

    ``company_id`` is the ConnectWise company the customer is mapped to (None: not mapped yet);
    ``first_effective_date`` the earliest date an addition of the task takes effect;
    ``next_period_start`` the end of the task's billing period, the latest day it changes.
    """

    company_id: int | None
    billing_period: PeriodLength
    currency: str
    first_effective_date: dt.date
    next_period_start: dt.date | None = None


@dataclass(frozen=True)
class Eligibility:
    reasons: tuple[Reason, ...] = ()

    @property
    def eligible(self) -> bool:
        return not self.reasons


def check_eligibility(agreement: Agreement, *, terms: SubscriptionTerms) -> Eligibility:
    """Every reason the agreement cannot take the task's changes; none means eligible."""
    reasons = (
        _company_reason(agreement, terms),
        _status_reason(agreement),
        _cancelled_reason(agreement),
        _cycle_reason(agreement, terms),
        _currency_reason(agreement, terms),
        _bill_start_reason(agreement, terms),
        _invoiced_reason(agreement, terms),
    )
    return Eligibility(reasons=tuple(reason for reason in reasons if reason is not None))


def _company_reason(agreement: Agreement, terms: SubscriptionTerms) -> Reason | None:
    if terms.company_id is None:
        return Reason(
            ReasonCode.CUSTOMER_NOT_MAPPED,
            "The customer is not mapped to a ConnectWise company yet.",
        )
    if agreement.company_id != terms.company_id:
        return Reason(
            ReasonCode.OTHER_COMPANY,
            f"The agreement belongs to company #{agreement.company_id}, "
            f"not to the customer's company #{terms.company_id}.",
        )
    return None


def _status_reason(agreement: Agreement) -> Reason | None:
    if agreement.status is AgreementStatus.ACTIVE:
        return None
    return Reason(
        ReasonCode.NOT_ACTIVE,
        f"The agreement is {agreement.status.value}; only Active agreements can be billed.",
    )


def _cancelled_reason(agreement: Agreement) -> Reason | None:
    if not agreement.cancelled:
        return None
    return Reason(ReasonCode.CANCELLED, "The agreement is cancelled.")


def _cycle_reason(agreement: Agreement, terms: SubscriptionTerms) -> Reason | None:
    wanted = billing_cycle_for(terms.billing_period)
    if wanted is None:
        return Reason(
            ReasonCode.NO_MATCHING_CYCLE,
            f"The subscription bills every {terms.billing_period}, "
            "which no ConnectWise billing cycle matches.",
        )
    if agreement.billing_cycle is wanted:
        return None
    actual = agreement.billing_cycle.value if agreement.billing_cycle else "no billing cycle"
    return Reason(
        ReasonCode.WRONG_BILLING_CYCLE,
        f"The agreement bills {actual}; the subscription bills {wanted.value}.",
    )


def _currency_reason(agreement: Agreement, terms: SubscriptionTerms) -> Reason | None:
    if agreement.currency.code == terms.currency:
        return None
    return Reason(
        ReasonCode.WRONG_CURRENCY,
        f"The agreement bills in {agreement.currency.code}; the marketplace bills in "
        f"{terms.currency}.",
    )


def _bill_start_reason(agreement: Agreement, terms: SubscriptionTerms) -> Reason | None:
    start = agreement.bill_start_date
    if start is None or terms.first_effective_date >= start:
        return None
    return Reason(
        ReasonCode.BEFORE_BILL_START,
        f"The changes take effect on {terms.first_effective_date.isoformat()}, before the "
        f"agreement starts billing on {start.isoformat()}.",
    )


def _invoiced_reason(agreement: Agreement, terms: SubscriptionTerms) -> Reason | None:
    # Only when every day the task could change is invoiced: then no action of its plan can be
    # written. A partly invoiced span is for the plan to report, action by action.
    through, last = agreement.invoiced_through, terms.next_period_start
    if through is None or last is None or through < last:
        return None
    return Reason(
        ReasonCode.PERIOD_INVOICED,
        f"The agreement is already invoiced through {through.isoformat()}: the changes from "
        f"{terms.first_effective_date.isoformat()} to {last.isoformat()} fall in invoiced "
        "periods, which ConnectWise does not let change.",
    )
