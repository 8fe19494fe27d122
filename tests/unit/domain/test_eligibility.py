import pytest

from psasync.domain.agreements import AgreementStatus, resolve_currency
from psasync.domain.billing import BillingCycle, PeriodLength, PeriodUnit
from psasync.domain.eligibility import (
    Eligibility,
    ReasonCode,
    SubscriptionTerms,
    check_eligibility,
)
from psasync.domain.money import Currency
from tests.unit.domain.builders import MONTHLY, agreement, d

TERMS = SubscriptionTerms(
    company_id=250, billing_period=MONTHLY, currency="USD", first_effective_date=d("2026-11-11")
)


def codes(result: Eligibility) -> list[ReasonCode]:
    return [reason.code for reason in result.reasons]


def test_a_matching_agreement_is_eligible() -> None:
    result = check_eligibility(agreement(), terms=TERMS)
    assert result.eligible
    assert result.reasons == ()


def test_an_unmapped_customer_makes_no_agreement_eligible() -> None:
    terms = SubscriptionTerms(None, MONTHLY, "USD", d("2026-11-11"))
    result = check_eligibility(agreement(), terms=terms)
    assert codes(result) == [ReasonCode.CUSTOMER_NOT_MAPPED]
    assert "not mapped" in result.reasons[0].message


def test_another_company_agreement_is_not_eligible() -> None:
    result = check_eligibility(agreement(company_id=999), terms=TERMS)
    assert codes(result) == [ReasonCode.OTHER_COMPANY]
    assert "#999" in result.reasons[0].message and "#250" in result.reasons[0].message


@pytest.mark.parametrize(
    "status", [AgreementStatus.CANCELLED, AgreementStatus.EXPIRED, AgreementStatus.INACTIVE]
)
def test_only_active_agreements_are_eligible(status: AgreementStatus) -> None:
    result = check_eligibility(agreement(status=status), terms=TERMS)
    assert codes(result) == [ReasonCode.NOT_ACTIVE]
    assert status.value in result.reasons[0].message


def test_a_cancelled_flag_makes_an_active_agreement_ineligible() -> None:
    result = check_eligibility(agreement(cancelled=True), terms=TERMS)
    assert codes(result) == [ReasonCode.CANCELLED]


@pytest.mark.parametrize(
    ("length", "cycle", "eligible"),
    [
        (PeriodLength(PeriodUnit.MONTH, 1), BillingCycle.MONTHLY, True),
        (PeriodLength(PeriodUnit.MONTH, 3), BillingCycle.QUARTERLY, True),
        (PeriodLength(PeriodUnit.MONTH, 6), BillingCycle.SEMIANNUAL, True),
        (PeriodLength(PeriodUnit.YEAR, 1), BillingCycle.YEARLY, True),
        (PeriodLength(PeriodUnit.YEAR, 1), BillingCycle.MONTHLY, False),
        (PeriodLength(PeriodUnit.MONTH, 1), BillingCycle.YEARLY, False),
        (PeriodLength(PeriodUnit.MONTH, 1), None, False),
    ],
)
def test_the_billing_cycle_must_match_the_subscription_period(
    length: PeriodLength, cycle: BillingCycle | None, eligible: bool
) -> None:
    terms = SubscriptionTerms(250, length, "USD", d("2026-11-11"))
    result = check_eligibility(agreement(cycle=cycle), terms=terms)
    assert result.eligible is eligible
    if not eligible:
        assert codes(result) == [ReasonCode.WRONG_BILLING_CYCLE]


def test_the_cycle_reason_says_what_each_side_bills() -> None:
    result = check_eligibility(agreement(cycle=BillingCycle.YEARLY), terms=TERMS)
    assert (
        result.reasons[0].message == "The agreement bills Yearly; the subscription bills Monthly."
    )
    result = check_eligibility(agreement(cycle=None), terms=TERMS)
    assert "no billing cycle" in result.reasons[0].message


def test_a_period_without_a_connectwise_cycle_matches_no_agreement() -> None:
    terms = SubscriptionTerms(250, PeriodLength(PeriodUnit.MONTH, 2), "USD", d("2026-11-11"))
    result = check_eligibility(agreement(), terms=terms)
    assert codes(result) == [ReasonCode.NO_MATCHING_CYCLE]
    assert "month/2" in result.reasons[0].message


def test_the_currency_must_be_the_marketplace_currency() -> None:
    result = check_eligibility(agreement(currency=Currency("EUR")), terms=TERMS)
    assert codes(result) == [ReasonCode.WRONG_CURRENCY]
    assert "EUR" in result.reasons[0].message and "USD" in result.reasons[0].message


def test_changes_may_not_take_effect_before_the_agreement_bills() -> None:
    result = check_eligibility(agreement(bill_start="2026-11-15"), terms=TERMS)
    assert codes(result) == [ReasonCode.BEFORE_BILL_START]
    assert "2026-11-11" in result.reasons[0].message and "2026-11-15" in result.reasons[0].message
    assert check_eligibility(agreement(bill_start="2026-11-11"), terms=TERMS).eligible
    assert check_eligibility(agreement(bill_start=None), terms=TERMS).eligible


def test_every_failing_rule_gives_its_own_reason() -> None:
    result = check_eligibility(
        agreement(
            company_id=1,
            status=AgreementStatus.CANCELLED,
            cancelled=True,
            cycle=BillingCycle.YEARLY,
            currency=Currency("EUR"),
            bill_start="2027-01-01",
        ),
        terms=TERMS,
    )
    assert codes(result) == [
        ReasonCode.OTHER_COMPANY,
        ReasonCode.NOT_ACTIVE,
        ReasonCode.CANCELLED,
        ReasonCode.WRONG_BILLING_CYCLE,
        ReasonCode.WRONG_CURRENCY,
        ReasonCode.BEFORE_BILL_START,
    ]


def test_an_agreement_without_currency_bills_in_its_company_else_the_site_default() -> None:
    usd, eur, gbp = Currency("USD"), Currency("EUR"), Currency("GBP")
    assert resolve_currency(agreement=eur, company=gbp, default=usd) == eur
    assert resolve_currency(agreement=None, company=gbp, default=usd) == gbp
    assert resolve_currency(agreement=None, company=None, default=usd) == usd
