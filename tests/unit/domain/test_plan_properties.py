"""Properties every plan keeps, over generated orders, agreements and additions."""

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import count

from hypothesis import given
from hypothesis import strategies as st

from psasync.domain.agreements import Addition, BillCustomer, CatalogItem, ProductClass
from psasync.domain.billing import BillingPeriod
from psasync.domain.money import Money, extended_amount
from psasync.domain.orders import (
    LineType,
    Order,
    OrderLine,
    OrderStatus,
    OrderType,
    Subscription,
    SubscriptionProduct,
)
from psasync.domain.plan import (
    Action,
    AdditionKind,
    ChangeStrategy,
    Plan,
    PlanOptions,
    PriceSource,
    Task,
)
from psasync.domain.planner import plan_additions
from psasync.domain.review import validate_plan
from tests.unit.domain.builders import MONTHLY, agreement
from tests.unit.domain.test_keys import as_written, find_applied

MPNS = ("MPN-A", "MPN-B", "MPN-C")
CATALOG = {
    mpn: CatalogItem(
        id=100 + index,
        identifier=f"ITEM-{index}",
        description=f"Item {index}",
        price=Decimal("12.34"),
        cost=Decimal("9.87"),
        product_class=ProductClass.SERVICE,
    )
    for index, mpn in enumerate(MPNS)
}
LINE_TYPES = {
    OrderType.SALES: (LineType.RECURRING, LineType.SETUP),
    OrderType.CHANGE: (LineType.RECURRING, LineType.SETUP),
    OrderType.BILLING: (LineType.OVERUSE,),
    OrderType.RENEWAL: (LineType.RECURRING,),
    OrderType.CANCELLATION: (LineType.CANCELLATION,),
}

amounts = st.decimals(min_value=0, max_value=5000, places=2, allow_nan=False)


@dataclass(frozen=True)
class Case:
    task: Task
    additions: tuple[Addition, ...]
    source: PriceSource
    options: PlanOptions
    prorate_flag: bool

    def plan(self, additions: tuple[Addition, ...] | None = None) -> Plan:
        return plan_additions(
            task=self.task,
            agreement=agreement(prorate_flag=self.prorate_flag, bill_start=None),
            additions=self.additions if additions is None else additions,
            catalog=CATALOG,
            price_source=self.source,
            options=self.options,
        )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    start = draw(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 1, 1)))
    period = BillingPeriod(start, start + dt.timedelta(days=draw(st.integers(28, 92))))
    # Mostly inside the period; now and then just outside it, which must block, not misplan.
    effective = start + dt.timedelta(days=draw(st.integers(-3, period.days + 2)))
    order_type = draw(st.sampled_from(list(OrderType)))
    mpns = draw(st.lists(st.sampled_from(MPNS), min_size=1, max_size=3, unique=True))
    lines = tuple(
        OrderLine(
            number=number,
            type=draw(st.sampled_from(LINE_TYPES[order_type])),
            mpn=mpn,
            description=draw(st.sampled_from(["", "Seats"])),
            quantity=Decimal(
                draw(
                    st.integers(-10, 10) if order_type is OrderType.CHANGE else st.integers(1, 500)
                )
            ),
            unit_price=Money(draw(amounts), "USD"),
            unit_cost=draw(st.none() | amounts.map(lambda a: Money(a, "USD"))),
        )
        for number, mpn in enumerate(mpns, start=1)
    )
    instant = dt.datetime.combine(effective, dt.time(12), tzinfo=dt.UTC)
    order = Order(
        id="O",
        number="CH1",
        type=order_type,
        status=OrderStatus.COMPLETED,
        customer_id="C",
        subscription_id="S",
        created_at=instant,
        provisioned_at=instant,
        last_billing_date=period.start,
        next_billing_date=period.end,
        lines=lines,
    )
    held = Subscription(
        id="S",
        customer_id="C",
        billing_period=MONTHLY,
        created_on=dt.date(2020, 1, 1),
        products=tuple(SubscriptionProduct(mpn, Decimal(draw(st.integers(0, 50)))) for mpn in mpns),
    )
    ids = count(1)
    additions = tuple(
        Addition(
            id=next(ids),
            product=CATALOG[mpn].ref,
            quantity=Decimal(draw(st.integers(1, 50))),
            unit_price=draw(amounts),
            unit_cost=draw(amounts),
            effective_date=period.start - dt.timedelta(days=draw(st.integers(-40, 400))),
            cancelled_date=draw(st.none() | st.just(period.last_day) | st.just(period.end)),
            bill_customer=draw(st.sampled_from(list(BillCustomer))),
        )
        for mpn in draw(st.lists(st.sampled_from(MPNS), max_size=4))
    )
    return Case(
        task=Task(id=draw(st.integers(1, 10**6)), order=order, subscription=held, period=period),
        additions=additions,
        source=draw(st.sampled_from(list(PriceSource))),
        options=PlanOptions(
            change_strategy=draw(st.sampled_from(list(ChangeStrategy))),
            credit_downgrades=draw(st.booleans()),
        ),
        prorate_flag=draw(st.booleans()),
    )


@given(case=cases(), seed=st.randoms())
def test_plans_are_deterministic_whatever_order_additions_come_in(case: Case, seed: object) -> None:
    shuffled = list(case.additions)
    seed.shuffle(shuffled)  # type: ignore[attr-defined]
    assert case.plan() == case.plan(tuple(shuffled))


@given(case=cases())
def test_keys_are_unique_and_name_their_task_and_line(case: Case) -> None:
    plan = case.plan()
    keys = [action.key for action in plan.actions]
    assert len(keys) == len(set(keys))
    for action in plan.actions:
        assert action.key.startswith(f"task:{case.task.id}:line{action.line}:")
        assert (action.addition_id is None) is (action.action is Action.CREATE)


@given(case=cases())
def test_planned_actions_pass_validation(case: Case) -> None:
    assert validate_plan(case.plan()) == ()


@given(case=cases())
def test_one_time_and_prorate_additions_stay_inside_the_period(case: Case) -> None:
    plan = case.plan()
    for action in plan.actions:
        if action.kind is not AdditionKind.RECURRING:
            assert action.cancelled_date is not None
            assert plan.period.contains(action.effective_date)
            assert plan.period.contains(action.cancelled_date)


@given(case=cases())
def test_the_prorated_amount_is_the_sum_of_billable_prorate_lines(case: Case) -> None:
    plan = case.plan()
    expected = sum(
        (
            extended_amount(a.quantity, a.unit_price, decimals=2)
            for a in plan.actions
            if a.kind is AdditionKind.PRORATE and a.bill_customer is BillCustomer.BILLABLE
        ),
        Decimal("0.00"),
    )
    assert plan.prorated_amount == expected
    if case.source is PriceSource.CONNECTWISE:
        assert plan.prorated_amount == 0


@given(case=cases())
def test_replaying_a_plan_finds_every_action_by_its_key(case: Case) -> None:
    plan = case.plan()
    ids = count(10_000)
    written = {a.id: a for a in case.additions}
    for action in plan.actions:
        if action.action is Action.CREATE:
            written[next(ids)] = as_written(action, addition_id=0)
        elif action.action is Action.DELETE:
            del written[action.addition_id or 0]
        else:
            target = written[action.addition_id or 0]
            written[target.id] = as_written(action, addition_id=target.id, target=target)
    additions = [replace(a, id=key) for key, a in written.items()]
    assert set(find_applied(plan, additions)) == {a.key for a in plan.actions}
    # …and before anything was written, no create is found.
    before = find_applied(plan, case.additions)
    assert not any(key.endswith(("recurring", "prorate", "one_time")) for key in before)
