"""Gathering what a plan needs — the task, its subscription, the customer's company, the
agreement with its additions (and the day it is invoiced through) and the mapped catalog items,
setup-fee items included — and calling the pure planner.

Preview and Sync plan through the same function, so what the reseller reviewed is what is
applied.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from psasync.adapters.http import VendorNotFound
from psasync.adapters.marketplace import MarketplaceError, UnsupportedSubscription
from psasync.domain.agreements import Addition, Agreement
from psasync.domain.eligibility import Eligibility, SubscriptionTerms, check_eligibility
from psasync.domain.errors import DomainError
from psasync.domain.money import Currency
from psasync.domain.orders import OrderType, Subscription
from psasync.domain.plan import ChangeStrategy, Plan, PlanOptions, PriceSource, PsaStyle, Task
from psasync.domain.planner import plan_additions
from psasync.domain.review import ReviewedAddition, review_plan
from psasync.services import mappings
from psasync.services.actor import Actor
from psasync.services.context import Services
from psasync.services.errors import CustomerNotMapped, Invalid, NotFound
from psasync.services.integrations import (
    TenantPsa,
    not_configured,
    psa_errors,
    psa_from,
    tenant_psa,
    upstream,
)
from psasync.services.ports import PsaPort
from psasync.services.tasks import TaskView, load_task
from psasync.store import AutotaskSettings, snapshots
from psasync.store import tenants as tenant_store

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class TaskContext:
    """A task with everything about it that does not depend on the chosen agreement."""

    view: TaskView
    task: Task
    subscription: Subscription
    company_id: int | None
    currency: Currency
    options: PlanOptions
    psa: PsaPort

    @property
    def terms(self) -> SubscriptionTerms:
        return SubscriptionTerms(
            company_id=self.company_id,
            billing_period=self.subscription.billing_period,
            currency=self.currency.code,
            first_effective_date=self.task.change_date,
            next_period_start=self.task.period.end,
        )


@dataclass(frozen=True)
class AgreementChoice:
    agreement: Agreement
    eligibility: Eligibility


@dataclass(frozen=True)
class PreparedPlan:
    """A plan with the inputs it was made from (Sync needs the additions it found)."""

    context: TaskContext
    agreement: Agreement
    additions: tuple[Addition, ...]
    plan: Plan


async def task_context(services: Services, actor: Actor, task_id: int) -> TaskContext:
    """Load the task, its subscription (read once, then kept) and the customer's company.

    The task is looked up first: another tenant's task is 404 before anything is said about
    this tenant's ConnectWise settings.
    """
    async with services.db.session() as session:
        row = await load_task(session, actor.tenant_id, task_id)
        view = TaskView.of(row)
        order = snapshots.order_from_json(row.order_json)
        stored_subscription = row.subscription_json
        tenant = await tenant_store.get_tenant(session, actor.tenant_id)
    used = await tenant_psa(services, actor.tenant_id)
    if used is None:
        raise not_configured()
    psa = psa_from(services, used.settings)
    subscription = (
        snapshots.subscription_from_json(stored_subscription)
        if stored_subscription
        else await _read_subscription(services, actor, task_id, order.subscription_id)
    )
    try:
        task = Task.from_order(task_id=view.id, order=order, subscription=subscription)
    except DomainError as error:
        raise Invalid(
            f"order {order.number} cannot be planned: {error}", code="OrderUnusable"
        ) from None
    company_id = await mappings.company_for(services, actor, view, psa)
    currency_code = (tenant.currency if tenant else None) or _order_currency(task)
    return TaskContext(
        view=view,
        task=task,
        subscription=subscription,
        company_id=company_id,
        currency=Currency(currency_code),
        options=plan_options(used),
        psa=psa,
    )


def plan_options(used: TenantPsa) -> PlanOptions:
    """How plans are shaped for the tenant's PSA: ConnectWise's stored change strategy and
    downgrade credits, or Autotask's style (it prorates and credits by itself)."""
    if used.style is PsaStyle.AUTOTASK:
        return PlanOptions(psa=PsaStyle.AUTOTASK)
    settings = used.settings
    assert not isinstance(settings, AutotaskSettings)  # noqa: S101 - the style says which
    return PlanOptions(
        change_strategy=ChangeStrategy(settings.change_strategy),
        credit_downgrades=settings.credit_downgrades,
    )


def _order_currency(task: Task) -> str:
    for line in task.order.lines:
        return line.unit_price.currency
    raise Invalid(
        f"order {task.order.number}: the marketplace currency is unknown", code="CurrencyUnknown"
    )


async def _read_subscription(
    services: Services, actor: Actor, task_id: int, subscription_id: str | None
) -> Subscription:
    if subscription_id is None:
        raise Invalid(
            "the order names no subscription, so it cannot be planned", code="NoSubscription"
        )
    try:
        subscription = await actor.reads_marketplace().get_subscription(subscription_id)
    except UnsupportedSubscription as error:
        raise Invalid(error.message, code="UnsupportedSubscription") from None
    except MarketplaceError as error:
        raise upstream(error) from None
    async with services.db.session() as session:
        row = await load_task(session, actor.tenant_id, task_id)
        row.subscription_json = snapshots.subscription_to_json(subscription)
    return subscription


async def agreements(services: Services, actor: Actor, task_id: int) -> list[AgreementChoice]:
    """The customer's agreements, each with the reasons it cannot take this task (if any)."""
    context = await task_context(services, actor, task_id)
    if context.company_id is None:
        raise _customer_not_mapped(context.view, context.psa.vendor)
    async with psa_errors(services, actor.tenant_id):
        found = await context.psa.agreements_of(
            context.company_id, default_currency=context.currency
        )
    return [
        AgreementChoice(agreement, check_eligibility(agreement, terms=context.terms))
        for agreement in found
    ]


def _customer_not_mapped(view: TaskView, vendor: str) -> CustomerNotMapped:
    return CustomerNotMapped(
        f"{view.customer_name} ({view.customer_id}) is not mapped to a {vendor} company, and "
        "no company has exactly that name: map the customer first.",
        details={"customerId": view.customer_id, "customerName": view.customer_name},
    )


async def prepare_plan(
    services: Services,
    actor: Actor,
    task_id: int,
    *,
    agreement_id: int,
    price_source: PriceSource,
    reviewed: Sequence[ReviewedAddition] | None,
) -> PreparedPlan:
    """The plan for one agreement, with the reseller's edits applied and checked.

    An ineligible agreement or invalid edits raise :class:`Invalid` with the reasons or field
    errors in ``details``.
    """
    context = await task_context(services, actor, task_id)
    psa = context.psa
    if context.company_id is None:
        raise _customer_not_mapped(context.view, context.psa.vendor)
    async with psa_errors(services, actor.tenant_id):
        # Three independent reads go out together; the agreement's own failure speaks first.
        agreement_read, lines_read, catalog_read = await asyncio.gather(
            _agreement(psa, agreement_id, context.currency),
            psa.lines(agreement_id),
            mappings.catalog_for(services, actor, _mpns(context), psa),
            return_exceptions=True,
        )
        agreement = _result(agreement_read)
        _check_eligible(agreement, context)
        additions = tuple(_result(lines_read))
        catalog = _result(catalog_read)
    # The agreement carries the day ConnectWise has invoiced it through: the plan blocks any
    # action inside that span before anything is written.
    plan = plan_additions(
        task=context.task,
        agreement=agreement,
        additions=additions,
        catalog=catalog.items,
        price_source=price_source,
        options=context.options,
        setup_items=catalog.setup_items,
    )
    if reviewed is not None:
        plan = _reviewed(plan, reviewed)
    return PreparedPlan(context=context, agreement=agreement, additions=additions, plan=plan)


def _result(outcome: T | BaseException) -> T:
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


async def _agreement(psa: PsaPort, agreement_id: int, currency: Currency) -> Agreement:
    try:
        return await psa.agreement(agreement_id, default_currency=currency)
    except VendorNotFound:
        raise NotFound(
            f"{psa.vendor} has no agreement {agreement_id}", code="AgreementNotFound"
        ) from None


def _check_eligible(agreement: Agreement, context: TaskContext) -> None:
    eligibility = check_eligibility(agreement, terms=context.terms)
    if eligibility.eligible:
        return
    raise Invalid(
        f"Agreement {agreement.name!r} cannot take this task: "
        + " ".join(reason.message for reason in eligibility.reasons),
        code="IneligibleAgreement",
        details={
            "agreementId": agreement.id,
            "reasons": [
                {"code": reason.code.value, "message": reason.message}
                for reason in eligibility.reasons
            ],
        },
    )


def _mpns(context: TaskContext) -> list[str]:
    mpns = [line.mpn for line in context.task.order.lines]
    if context.task.order.type is OrderType.CANCELLATION:
        mpns.extend(product.mpn for product in context.subscription.products)
    return sorted(set(mpns))


def _reviewed(plan: Plan, reviewed: Sequence[ReviewedAddition]) -> Plan:
    outcome = review_plan(plan, reviewed)
    if outcome.ok:
        return outcome.plan
    raise Invalid(
        "Some of the edited additions are not valid: "
        + " ".join(error.message for error in outcome.errors),
        code="InvalidAdditions",
        details={
            "fieldErrors": [
                {"key": e.key, "field": e.field, "code": e.code, "message": e.message}
                for e in outcome.errors
            ]
        },
    )


async def preview(
    services: Services,
    actor: Actor,
    task_id: int,
    *,
    agreement_id: int,
    price_source: PriceSource,
    reviewed: Sequence[ReviewedAddition] | None = None,
) -> Plan:
    """What Sync would do to the agreement, with the amounts (nothing is written)."""
    prepared = await prepare_plan(
        services,
        actor,
        task_id,
        agreement_id=agreement_id,
        price_source=price_source,
        reviewed=reviewed,
    )
    return prepared.plan
