"""Reconciliation (DESIGN §9): every kind of drift found alone and together, its monthly impact,
its fix, and the properties that tie them: fixing all leaves no drift."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext
from fractions import Fraction
from itertools import count

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psasync.domain.agreements import Addition, Agreement, AgreementStatus, BillCustomer
from psasync.domain.billing import BillingCycle, PeriodLength, PeriodUnit
from psasync.domain.money import Currency
from psasync.domain.plan import Action, AdditionKind, PlannedAddition, PriceOrigin, PriceSource
from psasync.domain.reconciliation import (
    AgreementLines,
    CustomerSnapshot,
    FixTiming,
    ItemKind,
    MarketplaceProduct,
    MarketplaceSubscription,
    ReconciliationError,
    ReconciliationItem,
    ReconciliationOptions,
    current_period,
    display_amount,
    fix_key,
    months_in_cycle,
    months_in_period,
    reconcile,
    reconcile_customer,
    totals_by_customer,
    totals_by_kind,
)
from tests.unit.domain.builders import (
    BACKUP,
    E3,
    MONTHLY,
    USD,
    addition,
    agreement,
    catalog_item,
    d,
)

D = d("2026-12-01")
NOV_30 = d("2026-11-30")
YEARLY = PeriodLength(PeriodUnit.YEAR, 1)
QUARTERLY = PeriodLength(PeriodUnit.MONTH, 3)
CATALOG = {
    E3: catalog_item(),
    BACKUP: catalog_item(id=9002, identifier="ACR-GB", price="0.10", cost="0.05"),
}


def product(
    mpn: str = E3, quantity: str = "5", price: str = "30.00", cost: str | None = "24.00"
) -> MarketplaceProduct:
    return MarketplaceProduct(
        mpn=mpn,
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        unit_cost=Decimal(cost) if cost is not None else None,
        description="Microsoft 365 E3",
    )


def sub(
    *products: MarketplaceProduct,
    id: str = "SUB-1",
    period: PeriodLength = MONTHLY,
    currency: str = "USD",
) -> MarketplaceSubscription:
    return MarketplaceSubscription(
        id=id, billing_period=period, currency=currency, products=products or (product(),)
    )


def lines(target: Agreement | None = None, *additions: Addition) -> AgreementLines:
    return AgreementLines(agreement=target or agreement(), additions=additions)


def snapshot(
    *agreements: AgreementLines,
    subscriptions: Sequence[MarketplaceSubscription] | None = None,
    written: Mapping[str, PlannedAddition] | None = None,
    company_id: int | None = 250,
    customer_id: str = "1000048531",
) -> CustomerSnapshot:
    return CustomerSnapshot(
        customer_id=customer_id,
        customer_name="Green Lane LLC",
        company_id=company_id,
        subscriptions=tuple(subscriptions if subscriptions is not None else (sub(),)),
        catalog=CATALOG,
        agreements=agreements,
        written=written or {},
    )


def run(
    customer: CustomerSnapshot,
    *,
    source: PriceSource = PriceSource.MARKETPLACE,
    change: str | None = None,
) -> tuple[ReconciliationItem, ...]:
    options = ReconciliationOptions(
        as_of=D,
        price_source=source,
        timing=FixTiming.CURRENT_PERIOD if change else FixTiming.NEXT_PERIOD,
        change_date=d(change) if change else None,
    )
    return reconcile_customer(customer, options=options)


def only(items: Sequence[ReconciliationItem]) -> ReconciliationItem:
    assert len(items) == 1, items
    return items[0]


def shape(item: ReconciliationItem) -> list[tuple[Action, AdditionKind, int | None, str]]:
    """The fix's actions in short: (action, kind, target, dates)."""
    assert item.fix is not None
    return [
        (a.action, a.kind, a.addition_id, f"{a.effective_date}..{a.cancelled_date}")
        for a in item.fix.actions
    ]


# --- nothing to report -------------------------------------------------------------------------


def test_a_psa_that_bills_what_the_marketplace_sells_shows_no_items() -> None:
    assert run(snapshot(lines(None, addition()))) == ()


def test_additions_that_do_not_bill_on_d_or_are_not_mapped_or_belong_elsewhere_are_ignored() -> (
    None
):
    ignored = (
        addition(id=1, cancelled="2026-11-30"),
        addition(id=2, effective="2026-12-02"),
        addition(id=3, product_id=7777),
    )
    other_company = lines(agreement(id=900, company_id=999), addition(id=4))
    assert run(snapshot(lines(None, addition(), *ignored), other_company)) == ()


# --- each kind alone ---------------------------------------------------------------------------


def test_an_unmapped_customer_is_one_item_without_amounts_or_fix() -> None:
    item = only(run(snapshot(company_id=None)))
    assert (item.kind, item.company_id, item.mpn, item.currency) == (
        ItemKind.UNMAPPED,
        None,
        None,
        None,
    )
    assert item.monthly_impact == 0 and item.fix is None and item.notes


def test_an_unmapped_product_of_a_mapped_customer_is_one_item_per_product() -> None:
    subscriptions = [sub(product(), product("UNKNOWN-1"), product("UNKNOWN-2"))]
    items = run(snapshot(lines(None, addition()), subscriptions=subscriptions))
    assert [(i.kind, i.mpn, i.monthly_impact) for i in items] == [
        (ItemKind.UNMAPPED, "UNKNOWN-1", Decimal(0)),
        (ItemKind.UNMAPPED, "UNKNOWN-2", Decimal(0)),
    ]
    assert items[0].marketplace is not None and items[0].fix is None


def test_missing_is_created_on_the_eligible_agreement_from_d() -> None:
    item = only(run(snapshot(lines())))
    assert item.kind is ItemKind.MISSING
    assert item.monthly_impact == Decimal("150.00")
    assert item.psa is None and item.marketplace is not None
    assert item.marketplace.quantity == 5 and item.currency == "USD"
    assert item.fix is not None and item.fix.agreement_id == 501 and item.fix.effective_date == D
    (create,) = item.fix.actions
    assert create.key == f"recon:{item.id}:line1:recurring"
    assert (create.action, create.kind, create.quantity, create.unit_price, create.unit_cost) == (
        Action.CREATE,
        AdditionKind.RECURRING,
        Decimal(5),
        Decimal("30.00"),
        Decimal("24.00"),
    )
    assert (create.effective_date, create.cancelled_date, create.price_origin) == (
        D,
        None,
        PriceOrigin.MARKETPLACE,
    )
    assert (
        create.bill_customer is BillCustomer.BILLABLE and create.description == "Microsoft 365 E3"
    )


def test_missing_without_a_marketplace_cost_takes_the_catalog_cost() -> None:
    item = only(run(snapshot(lines(), subscriptions=[sub(product(cost=None))])))
    assert item.fix is not None and item.fix.actions[0].unit_cost == Decimal("25.00")


def test_missing_priced_from_connectwise_takes_the_catalog_price() -> None:
    item = only(run(snapshot(lines()), source=PriceSource.CONNECTWISE))
    assert item.monthly_impact == Decimal("160.00")
    assert item.fix is not None
    assert item.fix.actions[0].unit_price == Decimal("32.00")
    assert item.fix.actions[0].price_origin is PriceOrigin.CATALOG


def test_missing_without_one_eligible_agreement_says_so_and_has_no_fix() -> None:
    none = only(run(snapshot(lines(agreement(cycle=BillingCycle.YEARLY)))))
    assert none.kind is ItemKind.MISSING and none.fix is None
    assert none.monthly_impact == Decimal("150.00")
    assert "no active agreement" in none.notes[0]
    several = only(run(snapshot(lines(), lines(agreement(id=502)))))
    assert several.fix is None and "#501, #502" in several.notes[0]


def test_quantity_replaces_the_ongoing_addition_from_d() -> None:
    item = only(run(snapshot(lines(None, addition(quantity="3")))))
    assert item.kind is ItemKind.QUANTITY
    assert item.monthly_impact == Decimal("60.00")
    assert item.psa is not None and item.psa.addition_ids == (3001,) and item.psa.quantity == 3
    assert shape(item) == [
        (Action.CANCEL, AdditionKind.RECURRING, 3001, "2026-01-01..2026-11-30"),
        (Action.CREATE, AdditionKind.RECURRING, None, "2026-12-01..None"),
    ]
    assert item.fix is not None
    assert [a.key for a in item.fix.actions] == [
        f"recon:{item.id}:line1:cancel",
        f"recon:{item.id}:line2:recurring",
    ]
    assert item.fix.actions[1].quantity == 5


def test_quantity_on_an_addition_that_starts_on_d_is_updated_in_place() -> None:
    item = only(run(snapshot(lines(None, addition(quantity="7", effective="2026-12-01")))))
    assert item.monthly_impact == Decimal("-60.00")
    assert shape(item) == [(Action.UPDATE, AdditionKind.RECURRING, 3001, "2026-12-01..None")]
    assert item.fix is not None and item.fix.actions[0].quantity == 5


def test_price_is_compared_with_the_reseller_price_only_when_pricing_from_the_marketplace() -> None:
    psa = snapshot(lines(None, addition(price="28.00")))
    item = only(run(psa))
    assert item.kind is ItemKind.PRICE and item.monthly_impact == Decimal("10.00")
    assert item.fix is not None and item.fix.actions[1].unit_price == Decimal("30.00")
    assert run(psa, source=PriceSource.CONNECTWISE) == ()


def test_quantity_priced_from_connectwise_keeps_the_addition_price() -> None:
    customer = snapshot(lines(None, addition(quantity="3", price="28.00")))
    item = only(run(customer, source=PriceSource.CONNECTWISE))
    assert item.monthly_impact == Decimal("56.00")
    assert item.fix is not None
    assert item.fix.actions[1].unit_price == Decimal("28.00")
    assert item.fix.actions[1].price_origin is PriceOrigin.EXISTING_ADDITION


def test_duplicate_copies_are_cancelled_or_deleted_and_cost_minus_their_amount() -> None:
    copies = (addition(id=3002, quantity="2"), addition(id=3003, effective="2026-12-01"))
    item = only(run(snapshot(lines(None, addition(), *copies))))
    assert item.kind is ItemKind.DUPLICATE
    assert item.monthly_impact == Decimal("-210.00")
    assert item.psa is not None and item.psa.addition_ids == (3002, 3003)
    assert shape(item) == [
        (Action.CANCEL, AdditionKind.RECURRING, 3002, "2026-01-01..2026-11-30"),
        (Action.DELETE, AdditionKind.RECURRING, 3003, "2026-12-01..None"),
    ]


def test_duplicates_on_two_agreements_are_one_item_per_agreement() -> None:
    other = lines(agreement(id=502), addition(id=4001))
    items = run(snapshot(lines(None, addition(), addition(id=3002)), other))
    assert [(i.kind, i.psa.agreement_id if i.psa else None) for i in items] == [
        (ItemKind.DUPLICATE, 501),
        (ItemKind.DUPLICATE, 502),
    ]


def test_orphan_is_cancelled_and_costs_minus_its_amount() -> None:
    orphan = addition(id=3009, product_id=9002, quantity="100", price="0.10", effective=None)
    item = only(run(snapshot(lines(None, addition(), orphan))))
    assert (item.kind, item.mpn, item.currency) == (ItemKind.ORPHAN, BACKUP, "USD")
    assert item.monthly_impact == Decimal("-10.00") and item.marketplace is None
    assert shape(item) == [(Action.CANCEL, AdditionKind.RECURRING, 3009, "2026-12-01..2026-11-30")]


def test_an_addition_in_another_currency_than_the_subscription_is_an_orphan() -> None:
    euros = lines(agreement(id=601, currency=Currency("EUR")), addition(id=3010))
    items = run(snapshot(lines(), euros))
    assert [(i.kind, i.currency) for i in items] == [
        (ItemKind.MISSING, "USD"),
        (ItemKind.ORPHAN, "EUR"),
    ]


def test_cancelled_agreement_line_moves_to_the_eligible_agreement() -> None:
    dead = lines(agreement(id=499, cancelled=True), addition(id=2001))
    inactive = lines(agreement(id=498, status=AgreementStatus.INACTIVE), addition(id=2002))
    item = only(run(snapshot(lines(), dead, inactive)))
    assert item.kind is ItemKind.CANCELLED_AGREEMENT
    assert item.monthly_impact == Decimal("150.00")
    assert item.psa is not None and item.psa.agreement_id == 498
    assert item.fix is not None and item.fix.agreement_id == 501
    assert shape(item) == [(Action.CREATE, AdditionKind.RECURRING, None, "2026-12-01..None")]


KEY = "task:7:line1:recurring"


def written(**changes: object) -> PlannedAddition:
    """What task 7 wrote for the default addition."""
    wrote = PlannedAddition(
        action=Action.CREATE,
        kind=AdditionKind.RECURRING,
        key=KEY,
        line=1,
        product=addition().product,
        mpn=E3,
        description="Microsoft 365 E3",
        quantity=Decimal(5),
        unit_price=Decimal("30.00"),
        unit_cost=Decimal("24.00"),
        effective_date=d("2026-01-01"),
        cancelled_date=None,
        bill_customer=BillCustomer.BILLABLE,
        taxable=True,
        price_source=PriceSource.MARKETPLACE,
    )
    return replace(wrote, **changes)  # type: ignore[arg-type]


def keyed(**changes: object) -> Addition:
    shown = replace(addition(sync_key=KEY), invoice_description="Microsoft 365 E3")
    return replace(shown, **changes)  # type: ignore[arg-type]


def test_manual_edit_is_restored_by_an_update() -> None:
    shown = keyed(
        taxable=False, bill_customer=BillCustomer.NO_CHARGE, cancelled_date=d("2027-01-31")
    )
    item = only(run(snapshot(lines(None, shown), written={KEY: written()})))
    assert item.kind is ItemKind.MANUAL_EDIT and item.monthly_impact == 0
    assert item.notes == ("Changed by hand since psasync wrote it: billCustomer, taxableFlag.",)
    assert shape(item) == [(Action.UPDATE, AdditionKind.RECURRING, 3001, "2026-01-01..2027-01-31")]
    assert item.fix is not None
    update = item.fix.actions[0]
    assert (update.bill_customer, update.taxable, update.quantity) == (
        BillCustomer.BILLABLE,
        True,
        Decimal(5),
    )


def test_a_manual_edit_an_update_cannot_put_back_is_reported_only() -> None:
    shown = keyed(effective_date=d("2026-02-01"))
    item = only(run(snapshot(lines(None, shown), written={KEY: written()})))
    assert item.kind is ItemKind.MANUAL_EDIT and item.fix is None
    assert "cannot put back effectiveDate" in item.notes[1]


def test_an_unedited_psasync_addition_or_one_without_journal_shows_nothing() -> None:
    assert run(snapshot(lines(None, keyed()), written={KEY: written()})) == ()
    assert run(snapshot(lines(None, keyed(taxable=False)))) == ()


def test_a_hand_edited_quantity_is_a_quantity_item_that_says_so() -> None:
    item = only(run(snapshot(lines(None, keyed(quantity=Decimal(4))), written={KEY: written()})))
    assert item.kind is ItemKind.QUANTITY
    assert item.notes == ("Changed by hand since psasync wrote it: quantity.",)


# --- amounts per month -------------------------------------------------------------------------


def test_yearly_and_quarterly_amounts_are_normalised_per_month_at_full_precision() -> None:
    yearly = lines(agreement(cycle=BillingCycle.YEARLY), addition(quantity="4", price="360.00"))
    item = only(run(snapshot(yearly, subscriptions=[sub(product(price="360.00"), period=YEARLY)])))
    assert item.kind is ItemKind.QUANTITY and item.monthly_impact == Decimal("30.00")
    quarterly = lines(agreement(cycle=BillingCycle.QUARTERLY), addition(quantity="4", price="100"))
    subscription = sub(product(price="100"), period=QUARTERLY)
    item = only(run(snapshot(quarterly, subscriptions=[subscription])))
    assert item.monthly_impact == Decimal("33.33333333333333333333333333")
    assert display_amount(item.monthly_impact, USD) == Decimal("33.33")


def test_impacts_do_not_depend_on_the_callers_decimal_context() -> None:
    quarterly = lines(agreement(cycle=BillingCycle.QUARTERLY), addition(quantity="4", price="100"))
    customer = snapshot(quarterly, subscriptions=[sub(product(price="100"), period=QUARTERLY)])
    with localcontext() as context:
        context.prec = 5
        assert only(run(customer)).monthly_impact == Decimal("33.33333333333333333333333333")


def test_a_yearly_subscription_billed_on_a_monthly_agreement_is_priced_per_month() -> None:
    subscription = sub(product(price="100.00"), period=YEARLY)
    billed = lines(None, addition(quantity="5", price="8.33"))
    assert run(snapshot(billed, subscriptions=[subscription])) == ()
    short = lines(None, addition(quantity="4", price="8.33"))
    item = only(run(snapshot(short, subscriptions=[subscription])))
    assert item.kind is ItemKind.QUANTITY and item.monthly_impact == Decimal("8.33")
    assert item.fix is not None and item.fix.actions[1].unit_price == Decimal("8.33")


def test_months_of_periods_and_cycles() -> None:
    assert months_in_period(PeriodLength(PeriodUnit.DAY, 365)) == 12
    assert months_in_cycle(None) == 1
    assert months_in_cycle(BillingCycle.NOT_RECURRING) == 1
    assert months_in_cycle(BillingCycle.WEEKLY) == Fraction(7 * 12, 365)


# --- every kind together -----------------------------------------------------------------------


def everything() -> CustomerSnapshot:
    backup = product(BACKUP, quantity="100", price="0.10", cost="0.05")
    teams = product("MS-TEAMS", quantity="3")
    subscriptions = [
        sub(product(quantity="6", price="31.00"), backup, teams, id="SUB-1"),
        sub(product(quantity="2"), id="SUB-2"),
        sub(product(mpn="ACR-OTHER", quantity="1"), id="SUB-3", currency="EUR"),
    ]
    catalog = {**CATALOG, "ACR-OTHER": catalog_item(id=9003, identifier="ACR-OTHER")}
    shown = keyed(id=3004, quantity=Decimal(2), taxable=False)
    active = lines(
        None,
        addition(id=3001, quantity="5", price="30.00"),
        shown,
        addition(id=3005, quantity="2"),
        addition(id=3006, product_id=9003, quantity="1", price="30.00"),
    )
    euros = lines(agreement(id=601, currency=Currency("EUR")))
    dead = lines(agreement(id=499, cancelled=True), addition(id=2001, product_id=9002))
    return replace(
        snapshot(active, euros, dead, subscriptions=subscriptions, written={KEY: written()}),
        catalog=catalog,
    )


def test_every_kind_is_found_together_with_its_impact() -> None:
    items = run(everything())
    found = [(i.kind, i.mpn, i.monthly_impact) for i in items]
    assert found == [
        (ItemKind.MISSING, "ACR-OTHER", Decimal("30.00")),
        (ItemKind.QUANTITY, E3, Decimal("36.00")),
        (ItemKind.DUPLICATE, E3, Decimal("-60.00")),
        (ItemKind.ORPHAN, "ACR-OTHER", Decimal("-30.00")),
        (ItemKind.CANCELLED_AGREEMENT, BACKUP, Decimal("10.00")),
        (ItemKind.MANUAL_EDIT, E3, Decimal("0")),
        (ItemKind.UNMAPPED, "MS-TEAMS", Decimal("0")),
    ]
    assert len({i.id for i in items}) == len(items)


def test_totals_per_kind_and_per_customer() -> None:
    items = (
        run(everything())
        + run(snapshot(company_id=None, customer_id="C2"))
        + run(snapshot(lines(None, addition(quantity="4")), customer_id="C3"))
    )
    by_kind = totals_by_kind(items)
    assert list(by_kind) == [
        ItemKind.MISSING,
        ItemKind.QUANTITY,
        ItemKind.DUPLICATE,
        ItemKind.ORPHAN,
        ItemKind.CANCELLED_AGREEMENT,
        ItemKind.MANUAL_EDIT,
        ItemKind.UNMAPPED,
    ]
    assert by_kind[ItemKind.QUANTITY].count == 2
    assert by_kind[ItemKind.QUANTITY].impact == {"USD": Decimal("66.00")}
    assert by_kind[ItemKind.UNMAPPED].count == 2 and by_kind[ItemKind.UNMAPPED].impact == {"USD": 0}
    by_customer = totals_by_customer(items)
    assert list(by_customer) == ["1000048531", "C2", "C3"]
    assert by_customer["1000048531"].impact == {"EUR": Decimal("30.00"), "USD": Decimal("-44.00")}
    assert by_customer["C2"].count == 1 and by_customer["C2"].impact == {}


def test_reconcile_lists_customers_in_the_order_given() -> None:
    options = ReconciliationOptions(as_of=D)
    customers = [snapshot(company_id=None, customer_id="B"), snapshot(lines(), customer_id="A")]
    assert [i.customer_id for i in reconcile(customers, options=options)] == ["B", "A"]


def test_item_ids_are_stable_and_name_the_date() -> None:
    customer = everything()
    assert [i.id for i in run(customer)] == [i.id for i in run(customer)]
    later = reconcile_customer(customer, options=ReconciliationOptions(as_of=d("2027-01-01")))
    assert not {i.id for i in later} & {i.id for i in run(customer)}


def test_fix_keys_live_in_their_own_namespace() -> None:
    assert fix_key("0123456789ab", line=2, action=Action.CANCEL, kind=AdditionKind.RECURRING) == (
        "recon:0123456789ab:line2:cancel"
    )
    assert fix_key("0123456789ab", line=1, action=Action.CREATE, kind=AdditionKind.PRORATE) == (
        "recon:0123456789ab:line1:prorate"
    )


# --- the current period and invoiced spans -----------------------------------------------------


def test_current_period_fix_adds_a_prorate_line_from_the_change_date() -> None:
    item = only(run(snapshot(lines()), change="2026-11-11"))
    assert item.fix is not None and item.fix.effective_date == d("2026-11-11")
    assert shape(item) == [
        (Action.CREATE, AdditionKind.RECURRING, None, "2026-12-01..None"),
        (Action.CREATE, AdditionKind.PRORATE, None, "2026-11-11..2026-11-30"),
    ]
    prorate = item.fix.actions[1]
    assert (prorate.quantity, prorate.unit_price, prorate.unit_cost) == (
        Decimal(5),
        Decimal("20.00"),
        Decimal("16.00"),
    )
    assert prorate.description == "Microsoft 365 E3 (prorated 2026-11-11 to 2026-11-30)"
    assert prorate.key == f"recon:{item.id}:line2:prorate"


def test_current_period_quantity_fix_prorates_the_difference_and_credits_a_decrease() -> None:
    up = only(run(snapshot(lines(None, addition(quantity="3"))), change="2026-11-11"))
    assert up.fix is not None and up.fix.actions[2].quantity == 2
    down = only(run(snapshot(lines(None, addition(quantity="8"))), change="2026-11-11"))
    assert down.fix is not None and down.fix.actions[2].quantity == -3
    assert "credit 2026-11-11" in down.fix.actions[2].description


def test_current_period_ends_duplicates_and_orphans_the_day_before_the_change() -> None:
    copies = (addition(id=3002), addition(id=3003, effective="2026-11-20"))
    item = only(run(snapshot(lines(None, addition(), *copies)), change="2026-11-11"))
    assert item.fix is not None and item.fix.effective_date == d("2026-11-11")
    assert shape(item) == [
        (Action.CANCEL, AdditionKind.RECURRING, 3002, "2026-01-01..2026-11-10"),
        (Action.DELETE, AdditionKind.RECURRING, 3003, "2026-11-20..None"),
    ]


@pytest.mark.parametrize(
    ("customer", "source", "reason"),
    [
        (snapshot(lines(None, addition(price="28.00"))), PriceSource.MARKETPLACE, "price is"),
        (snapshot(lines()), PriceSource.CONNECTWISE, "not prorated"),
        (
            snapshot(lines(agreement(invoiced_through="2026-11-30"))),
            PriceSource.MARKETPLACE,
            "invoiced through 2026-11-30",
        ),
        (
            snapshot(lines(agreement(bill_start="2026-11-20"))),
            PriceSource.MARKETPLACE,
            "starts billing on 2026-11-20",
        ),
        (
            snapshot(
                lines(None, addition(quantity="4", price="8.33")),
                subscriptions=[sub(product(price="100.00"), period=YEARLY)],
            ),
            PriceSource.MARKETPLACE,
            "billing cycle differs",
        ),
    ],
)
def test_a_current_period_fix_that_cannot_be_takes_effect_on_d_and_says_why(
    customer: CustomerSnapshot, source: PriceSource, reason: str
) -> None:
    item = only(run(customer, source=source, change="2026-11-11"))
    assert item.fix is not None and item.fix.effective_date == D
    assert all(a.kind is AdditionKind.RECURRING for a in item.fix.actions)
    assert reason in item.notes[0] and item.notes[0].startswith("Takes effect on 2026-12-01")


def test_a_change_date_outside_the_subscriptions_current_period_takes_effect_on_d() -> None:
    item = only(run(snapshot(lines()), change="2026-10-15"))
    assert item.fix is not None and item.fix.effective_date == D
    assert "outside the current period 2026-11-01 to 2026-11-30" in item.notes[0]
    assert current_period(sub(period=YEARLY), as_of=D).start == d("2025-12-01")


def test_a_fix_inside_an_invoiced_span_even_from_d_is_not_proposed() -> None:
    invoiced = agreement(invoiced_through="2026-12-31")
    item = only(run(snapshot(lines(invoiced, addition(quantity="3")))))
    assert item.kind is ItemKind.QUANTITY and item.fix is None
    assert item.notes[0].startswith("No fix: ") and "invoiced through 2026-12-31" in item.notes[0]
    both = only(run(snapshot(lines(invoiced, addition(quantity="3"))), change="2026-11-11"))
    assert both.fix is None and len(both.notes) == 2


# --- inputs ------------------------------------------------------------------------------------


def test_options_and_subscriptions_refuse_what_cannot_be() -> None:
    with pytest.raises(ReconciliationError, match="change date"):
        ReconciliationOptions(as_of=D, timing=FixTiming.CURRENT_PERIOD)
    with pytest.raises(ReconciliationError, match="change date"):
        ReconciliationOptions(as_of=D, timing=FixTiming.CURRENT_PERIOD, change_date=D)
    with pytest.raises(ReconciliationError, match="twice"):
        sub(product(), product())
    assert ReconciliationOptions(as_of=D, change_date=d("2026-11-11")).fix_date == D


# --- properties --------------------------------------------------------------------------------

MPNS = (E3, BACKUP)
MONTHLY_AGREEMENT = agreement(id=501)
YEARLY_AGREEMENT = agreement(id=502, cycle=BillingCycle.YEARLY)
DEAD_AGREEMENT = agreement(id=499, cancelled=True)
AGREEMENTS = (MONTHLY_AGREEMENT, YEARLY_AGREEMENT, DEAD_AGREEMENT)
prices = st.sampled_from(["12.00", "30.00", "30.005", "360.00"]).map(Decimal)
quantities = st.integers(1, 20).map(Decimal)


@dataclass(frozen=True)
class World:
    customer: CustomerSnapshot
    options: ReconciliationOptions


@st.composite
def subscriptions(draw: st.DrawFn) -> tuple[MarketplaceSubscription, ...]:
    held = []
    for number in range(draw(st.integers(0, 3))):
        mpns = draw(st.lists(st.sampled_from(MPNS), min_size=1, unique=True))
        products = tuple(
            MarketplaceProduct(
                mpn=mpn,
                quantity=draw(quantities),
                unit_price=draw(prices),
                unit_cost=draw(st.none() | prices),
            )
            for mpn in mpns
        )
        period = draw(st.sampled_from([MONTHLY, YEARLY]))
        held.append(
            MarketplaceSubscription(
                id=f"SUB-{number}", billing_period=period, currency="USD", products=products
            )
        )
    return tuple(held)


@st.composite
def additions(draw: st.DrawFn, ids: Iterator[int]) -> tuple[Addition, ...]:
    return tuple(
        replace(
            addition(
                id=next(ids),
                product_id=CATALOG[draw(st.sampled_from(MPNS))].id,
                effective=draw(st.sampled_from([None, "2026-01-01", "2026-11-20", "2026-12-01"])),
                cancelled=draw(st.sampled_from([None, "2026-11-30", "2026-12-01", "2027-03-31"])),
            ),
            quantity=draw(quantities),
            unit_price=draw(prices),
        )
        for _ in range(draw(st.integers(0, 4)))
    )


@st.composite
def worlds(draw: st.DrawFn) -> World:
    ids = count(3001)
    agreements = tuple(
        AgreementLines(
            agreement=replace(
                target,
                invoiced_through=draw(st.sampled_from([None, d("2026-10-31"), NOV_30])),
            ),
            additions=draw(additions(ids)),
        )
        for target in AGREEMENTS
    )
    journal = {}
    edited = []
    for lines_ in agreements:
        kept = []
        for index, shown in enumerate(lines_.additions):
            if draw(st.booleans()):
                key = f"task:{shown.id}:line1:recurring"
                journal[key] = written(
                    key=key,
                    product=shown.product,
                    quantity=shown.quantity,
                    unit_price=shown.unit_price,
                    effective_date=shown.effective_date or d("2026-01-01"),
                    cancelled_date=shown.cancelled_date,
                )
                shown = replace(
                    shown,
                    sync_key=key,
                    effective_date=shown.effective_date or d("2026-01-01"),
                    invoice_description="Microsoft 365 E3",
                    taxable=draw(st.booleans()),
                    unit_cost=draw(st.sampled_from([shown.unit_cost, Decimal("1.00")])),
                )
            kept.append(shown)
            del index
        edited.append(replace(lines_, additions=tuple(kept)))
    change = draw(st.none() | st.sampled_from(["2026-11-01", "2026-11-11", "2026-11-30"]))
    options = ReconciliationOptions(
        as_of=D,
        price_source=draw(st.sampled_from(list(PriceSource))),
        timing=FixTiming.CURRENT_PERIOD if change else FixTiming.NEXT_PERIOD,
        change_date=d(change) if change else None,
    )
    customer = CustomerSnapshot(
        customer_id="C",
        customer_name="C",
        company_id=250,
        subscriptions=draw(subscriptions()),
        catalog=CATALOG,
        agreements=tuple(edited),
        written=journal,
    )
    return World(customer=customer, options=options)


def applied(world: World, items: Sequence[ReconciliationItem]) -> World:
    """ConnectWise once every proposed fix is written (new additions get new ids)."""
    ids = count(10_000)
    fixes = [item.fix for item in items if item.fix is not None]
    journal = dict(world.customer.written)
    agreements = []
    for lines_ in world.customer.agreements:
        shown = list(lines_.additions)
        for fix in (f for f in fixes if f.agreement_id == lines_.agreement.id):
            for action in fix.actions:
                journal.update(recorded(shown, action, journal))
                shown = simulate(shown, action, ids)
        agreements.append(replace(lines_, additions=tuple(shown)))
    customer = replace(world.customer, agreements=tuple(agreements), written=journal)
    return replace(world, customer=customer)


def recorded(
    shown: Sequence[Addition], action: PlannedAddition, journal: Mapping[str, PlannedAddition]
) -> dict[str, PlannedAddition]:
    """What the journal says psasync wrote once ``action`` is applied, by addition key.

    A create is recorded under its key; an update of a psasync-written addition changes what
    its key says was written.
    """
    if action.action is Action.CREATE:
        return {action.key: action}
    target = next(a for a in shown if a.id == action.addition_id)
    key = target.sync_key
    if action.action is not Action.UPDATE or key is None or key not in journal:
        return {}
    wrote = replace(
        journal[key],
        quantity=action.quantity,
        unit_price=action.unit_price,
        unit_cost=action.unit_cost,
        bill_customer=action.bill_customer,
        taxable=action.taxable,
        description=action.description,
    )
    return {key: wrote}


def simulate(shown: list[Addition], action: PlannedAddition, ids: Iterator[int]) -> list[Addition]:
    if action.action is Action.CREATE:
        created = Addition(
            id=next(ids),
            product=action.product,
            quantity=action.quantity,
            unit_price=action.unit_price,
            unit_cost=action.unit_cost,
            effective_date=action.effective_date,
            cancelled_date=action.cancelled_date,
            bill_customer=action.bill_customer,
            taxable=action.taxable,
            description=action.description,
            invoice_description=action.description,
            sync_key=action.key,
        )
        return [*shown, created]
    if action.action is Action.DELETE:
        return [a for a in shown if a.id != action.addition_id]
    return [change(a, action) if a.id == action.addition_id else a for a in shown]


def change(target: Addition, action: PlannedAddition) -> Addition:
    if action.action is Action.CANCEL:
        return replace(target, cancelled_date=action.cancelled_date)
    return replace(
        target,
        quantity=action.quantity,
        unit_price=action.unit_price,
        unit_cost=action.unit_cost,
        bill_customer=action.bill_customer,
        taxable=action.taxable,
        invoice_description=action.description,
        cancelled_date=action.cancelled_date,
    )


@settings(max_examples=300)
@given(world=worlds())
def test_a_psa_fixed_by_the_proposed_fixes_shows_no_drift(world: World) -> None:
    items = reconcile_customer(world.customer, options=world.options)
    assert all(item.fix is not None for item in items)
    after = applied(world, items)
    again = reconcile_customer(after.customer, options=after.options)
    assert again == (), [summary(i) for i in items + again]


def summary(item: ReconciliationItem) -> str:
    """An item in one line, for failure messages."""
    sides = (item.marketplace.subscription_id if item.marketplace else "", item.psa)
    actions = (
        [(a.action.value, a.addition_id, a.quantity, a.unit_price) for a in item.fix.actions]
        if item.fix
        else None
    )
    return f"{item.kind.value} {sides} {actions} {item.notes}"


@given(world=worlds())
def test_fix_keys_are_unique_and_in_the_reconciliation_namespace(world: World) -> None:
    items = reconcile_customer(world.customer, options=world.options)
    keys = [a.key for i in items if i.fix for a in i.fix.actions]
    assert len(keys) == len(set(keys))
    assert all(key.startswith("recon:") for key in keys)
    for item in items:
        for number, action in enumerate(item.fix.actions if item.fix else (), start=1):
            assert action.key.startswith(f"recon:{item.id}:line{number}:")


@given(world=worlds())
def test_a_psa_that_equals_the_marketplace_shows_no_items(world: World) -> None:
    ids = count(1)
    copies: dict[int, list[Addition]] = {501: [], 502: []}
    for subscription in world.customer.subscriptions:
        target = 502 if subscription.billing_period == YEARLY else 501
        for held in subscription.products:
            copies[target].append(
                replace(
                    addition(id=next(ids), product_id=CATALOG[held.mpn].id),
                    quantity=held.quantity,
                    unit_price=held.unit_price,
                )
            )
    agreements = (
        AgreementLines(agreement=MONTHLY_AGREEMENT, additions=tuple(copies[501])),
        AgreementLines(agreement=YEARLY_AGREEMENT, additions=tuple(copies[502])),
    )
    customer = replace(world.customer, agreements=agreements, written={})
    assert reconcile_customer(customer, options=world.options) == ()


@given(sold=quantities, billed=quantities, price=prices)
def test_more_seats_sold_than_billed_is_under_billed_revenue(
    sold: Decimal, billed: Decimal, price: Decimal
) -> None:
    subscription = sub(replace(product(), quantity=sold, unit_price=price))
    held = replace(addition(), quantity=billed, unit_price=price)
    items = run(snapshot(lines(None, held), subscriptions=[subscription]))
    if sold == billed:
        assert items == ()
    else:
        item = only(items)
        assert (item.monthly_impact > 0) is (sold > billed)
        assert item.monthly_impact == (sold - billed) * price
