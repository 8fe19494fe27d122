from collections.abc import Iterable
from dataclasses import replace

from psasync.domain.agreements import Addition, BillCustomer, ProductRef
from psasync.domain.keys import (
    Located,
    locate_actions,
    written_differences,
)
from psasync.domain.orders import OrderType
from psasync.domain.plan import Action, ChangeStrategy, Plan, PlannedAddition, PlanOptions
from tests.unit.domain.builders import E3, addition, line, order, plan_for, subscription

KEY = "task:7:line1:recurring"


def find_applied(plan: Plan, additions: Iterable[Addition]) -> dict[str, int]:
    """The plan's actions ConnectWise already shows as written, by key → addition id."""
    located = locate_actions(plan.actions, additions)
    return {key: found.addition_id for key, found in located.items() if found.applied}


def as_written(
    action: PlannedAddition, *, addition_id: int, target: Addition | None = None
) -> Addition:
    """The addition ConnectWise shows once ``action`` is written (on ``target`` for a change)."""
    if action.action is Action.CANCEL and target is not None:
        return replace(target, cancelled_date=action.cancelled_date)
    if action.action is Action.UPDATE and target is not None:
        return replace(
            target,
            quantity=action.quantity,
            unit_price=action.unit_price,
            unit_cost=action.unit_cost,
            cancelled_date=action.cancelled_date,
            bill_customer=action.bill_customer,
            taxable=action.taxable,
            invoice_description=action.description or target.invoice_description,
        )
    return Addition(
        id=addition_id,
        product=ProductRef(action.product.id, action.product.identifier),
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


def upgrade_plan(options: PlanOptions | None = None) -> Plan:
    return plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2"),)),
        [addition(id=3001, quantity="5")],
        held=subscription((E3, "7")),
        options=options,
    )


def test_nothing_is_applied_before_the_sync() -> None:
    assert find_applied(upgrade_plan(), [addition(id=3001, quantity="5")]) == {}


def test_a_partly_applied_plan_is_found_by_keys_and_target_values() -> None:
    plan = upgrade_plan()
    cancel, recurring = plan.actions[0], plan.actions[1]
    shown = [
        addition(id=3001, quantity="5", cancelled="2026-11-30"),
        as_written(recurring, addition_id=3100),
    ]
    assert cancel.key == "task:7:line1:cancel" and recurring.key == "task:7:line1:recurring"
    assert find_applied(plan, shown) == {
        "task:7:line1:cancel": 3001,
        "task:7:line1:recurring": 3100,
    }


def test_a_key_written_twice_resolves_to_the_first_addition() -> None:
    plan = upgrade_plan()
    prorate = next(a for a in plan.actions if a.key == "task:7:line1:prorate")
    twins = [as_written(prorate, addition_id=3200), as_written(prorate, addition_id=3150)]
    assert find_applied(plan, twins)["task:7:line1:prorate"] == 3150


def test_a_create_counts_as_applied_only_when_every_written_field_is_equal() -> None:
    plan = upgrade_plan()
    recurring = plan.actions[1]
    written = as_written(recurring, addition_id=3100)
    for changed in (
        replace(written, quantity=written.quantity + 1),
        replace(written, unit_price=written.unit_price + 1),
        replace(written, unit_cost=written.unit_cost + 1),
        replace(written, effective_date=None),
        replace(written, cancelled_date=written.effective_date),
        replace(written, bill_customer=BillCustomer.NO_CHARGE),
        replace(written, taxable=not written.taxable),
        replace(written, invoice_description="edited on the invoice"),
        replace(written, description="edited inside"),
        replace(written, product=ProductRef(1, "OTHER")),
    ):
        assert find_applied(plan, [changed]) == {}
        (difference,) = written_differences(recurring, changed)
        assert locate_actions(plan.actions, [changed])[recurring.key] == Located(
            3100, (difference,)
        )
    assert locate_actions(plan.actions, [written])[recurring.key].applied


def test_an_update_that_changes_billing_flags_or_text_is_not_applied_by_quantity_alone() -> None:
    options = PlanOptions(change_strategy=ChangeStrategy.UPDATE_IN_PLACE)
    plan = upgrade_plan(options)
    update = next(a for a in plan.actions if a.action is Action.UPDATE)
    reviewed = replace(update, bill_customer=BillCustomer.DO_NOT_BILL, taxable=False)
    target = addition(id=3001, quantity="7")
    assert written_differences(reviewed, target) == ("billCustomer", "taxableFlag")
    assert locate_actions([reviewed], [target])[reviewed.key] == Located(
        3001, ("billCustomer", "taxableFlag")
    )
    assert locate_actions([reviewed], [as_written(reviewed, addition_id=3001, target=target)])[
        reviewed.key
    ].applied


def test_a_delete_is_applied_once_its_target_is_gone() -> None:
    plan = upgrade_plan()
    delete = replace(plan.actions[0], action=Action.DELETE, key="task:7:line1:delete")
    assert locate_actions([delete], [addition(id=3001)]) == {}
    assert locate_actions([delete], []) == {delete.key: Located(3001)}
    assert written_differences(delete, addition(id=3001)) == ()


def test_an_update_is_applied_once_the_target_has_the_planned_values() -> None:
    plan = upgrade_plan(PlanOptions(change_strategy=ChangeStrategy.UPDATE_IN_PLACE))
    assert find_applied(plan, [addition(id=3001, quantity="5")]) == {}
    assert find_applied(plan, [addition(id=3001, quantity="7")]) == {"task:7:line1:update": 3001}
    assert find_applied(plan, [addition(id=3001, quantity="7", price="31.00")]) == {}


def test_a_target_that_vanished_is_not_applied() -> None:
    plan = upgrade_plan()
    cancel = plan.actions[0]
    assert find_applied(plan.with_actions([replace(cancel, addition_id=None)]), []) == {}
    assert find_applied(plan, []) == {}


def test_an_update_without_a_description_leaves_the_invoice_text_out_of_the_comparison() -> None:
    plan = upgrade_plan(PlanOptions(change_strategy=ChangeStrategy.UPDATE_IN_PLACE))
    update = next(a for a in plan.actions if a.action is Action.UPDATE)
    silent = replace(update, description="")
    target = replace(addition(id=3001, quantity="7"), invoice_description="kept as it is")
    assert written_differences(silent, target) == ()
    assert written_differences(replace(silent, description="new text"), target) == (
        "invoiceDescription",
    )
