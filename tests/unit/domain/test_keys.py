from dataclasses import replace

from psasync.domain.keys import find_applied, mark_description, read_marked_key
from psasync.domain.orders import OrderType
from psasync.domain.plan import ChangeStrategy, Plan, PlanOptions
from tests.unit.domain.builders import E3, addition, line, order, plan_for, subscription

KEY = "task:7:line1:recurring"


def test_a_key_is_appended_to_the_internal_description_and_read_back() -> None:
    marked = mark_description("Microsoft 365 E3", KEY)
    assert marked == "Microsoft 365 E3 [psasync task:7:line1:recurring]"
    assert read_marked_key(marked) == KEY


def test_marking_twice_keeps_one_mark() -> None:
    marked = mark_description(mark_description("E3", "task:1:line1:prorate"), KEY)
    assert marked == f"E3 [psasync {KEY}]"


def test_an_empty_description_is_just_the_mark() -> None:
    assert mark_description("  ", KEY) == f"[psasync {KEY}]"


def test_descriptions_without_a_mark_have_no_key() -> None:
    assert read_marked_key("Microsoft 365 E3") is None
    assert read_marked_key(None) is None
    assert read_marked_key("E3 [psasync not-a-key]") is None


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
    cancelled = addition(id=3001, quantity="5", cancelled="2026-11-30")
    recurring = addition(
        id=3100, quantity="7", effective="2026-12-01", sync_key="task:7:line1:recurring"
    )
    assert find_applied(plan, [cancelled, recurring]) == {
        "task:7:line1:cancel": 3001,
        "task:7:line1:recurring": 3100,
    }


def test_a_key_written_twice_resolves_to_the_first_addition() -> None:
    plan = upgrade_plan()
    twins = [
        addition(id=3200, sync_key="task:7:line1:prorate"),
        addition(id=3150, sync_key="task:7:line1:prorate"),
    ]
    assert find_applied(plan, twins)["task:7:line1:prorate"] == 3150


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
