"""Gathering what a plan needs — the task, its subscription, the customer's company, the
agreement with its additions (and the day it is invoiced through) and the mapped catalog items,
setup-fee items included — and calling the pure planner.

Preview and Sync plan through the same function, so what the reseller reviewed is what is
applied.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from psasync.adapters.http import VendorNotFound
from psasync.adapters.marketplace import MarketplaceError, UnsupportedSubscription
from psasync.domain.agreements import Addition, Agreement, CatalogItem
from psasync.domain.eligibility import Eligibility, SubscriptionTerms, check_eligibility
from psasync.domain.errors import DomainError
from psasync.domain.money import Currency
from psasync.domain.orders import Order, OrderType, Subscription
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
    psa_of,
    upstream,
)
from psasync.services.ports import PsaPort
from psasync.services.tasks import TaskView, load_task_with_mapping
from psasync.store import AutotaskSettings, snapshots
from psasync.store import tasks as task_store
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


@dataclass(frozen=True)
class _Stored:
    """What psasync holds about a task and its tenant, read in one transaction."""

    view: TaskView
    order: Order
    subscription: Subscription | None  # None until first read from the marketplace
    tenant_currency: str | None
    used: TenantPsa
    company_id: int | None  # the customer's mapped company; None: not mapped yet
    # Mapped catalog items by MPN, (item, setup-fee item or None): of the order's products,
    # and of the stored subscription's (a cancellation ends those).
    products: dict[str, tuple[int, int | None]]


async def _read_stored(services: Services, actor: Actor, task_id: int) -> _Stored:
    """The task, the tenant's currency and PSA settings and the mappings a plan needs.

    The task is looked up first: another tenant's task is 404 before anything is said about
    this tenant's PSA settings.
    """
    tenant_id = actor.tenant_id
    async with services.db.read() as session:
        row, customer = await load_task_with_mapping(session, tenant_id, task_id)
        view = TaskView.of(row)
        order = snapshots.order_from_json(row.order_json)
        subscription = (
            snapshots.subscription_from_json(row.subscription_json)
            if row.subscription_json
            else None
        )
        tenant = await tenant_store.tenant_with_settings(session, tenant_id)
        used = psa_of(tenant)
        if tenant is None or used is None:
            raise not_configured()
        mpns = {line.mpn for line in order.lines}
        if subscription is not None:
            mpns.update(product.mpn for product in subscription.products)
        products = await tenant_store.product_mappings(session, tenant_id, mpns)
        return _Stored(
            view=view,
            order=order,
            subscription=subscription,
            tenant_currency=tenant.tenant.currency,
            used=used,
            company_id=customer.company_id if customer else None,
            products={
                mpn: (mapping.catalog_item_id, mapping.setup_catalog_item_id)
                for mpn, mapping in products.items()
            },
        )


async def task_context(services: Services, actor: Actor, task_id: int) -> TaskContext:
    """Load the task, its subscription (read once, then kept) and the customer's company."""
    stored = await _read_stored(services, actor, task_id)
    psa = psa_from(services, stored.used.settings)
    subscription, company_id = await asyncio.gather(
        _subscription(services, actor, task_id, stored),
        _company(services, actor, stored, psa),
        return_exceptions=True,
    )
    return _context(stored, psa, _result(subscription), _result(company_id))


def _context(
    stored: _Stored, psa: PsaPort, subscription: Subscription, company_id: int | None
) -> TaskContext:
    try:
        task = Task.from_order(
            task_id=stored.view.id, order=stored.order, subscription=subscription
        )
    except DomainError as error:
        raise Invalid(
            f"order {stored.order.number} cannot be planned: {error}", code="OrderUnusable"
        ) from None
    return TaskContext(
        view=stored.view,
        task=task,
        subscription=subscription,
        company_id=company_id,
        currency=Currency(stored.tenant_currency or _order_currency(stored.order)),
        options=plan_options(stored.used),
        psa=psa,
    )


async def _subscription(
    services: Services, actor: Actor, task_id: int, stored: _Stored
) -> Subscription:
    if stored.subscription is not None:
        return stored.subscription
    return await _read_subscription(services, actor, task_id, stored.order.subscription_id)


async def _company(services: Services, actor: Actor, stored: _Stored, psa: PsaPort) -> int | None:
    """The mapped company, or the one matched by name the first time (and then remembered)."""
    if stored.company_id is not None:
        return stored.company_id
    return await mappings.company_for(services, actor, stored.view, psa)


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


def _order_currency(order: Order) -> str:
    for line in order.lines:
        return line.unit_price.currency
    raise Invalid(
        f"order {order.number}: the marketplace currency is unknown", code="CurrencyUnknown"
    )


async def _read_subscription(
    services: Services, actor: Actor, task_id: int, subscription_id: str | None
) -> Subscription:
    """The subscription from the marketplace, kept on the task for every later plan."""
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
    kept = snapshots.subscription_to_json(subscription)
    async with services.db.session() as session:
        await task_store.keep_subscription(session, actor.tenant_id, task_id, kept)
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
    stored = await _read_stored(services, actor, task_id)
    psa = psa_from(services, stored.used.settings)
    subscription = asyncio.ensure_future(_subscription(services, actor, task_id, stored))
    # Every vendor read the plan needs goes out at once; their failures are then reported in
    # the order the plan depends on them (the subscription and the customer's company first,
    # the agreement's own failure before its additions' and the catalog's).
    (
        subscription_read,
        company_read,
        agreement_read,
        lines_read,
        catalog_read,
    ) = await asyncio.gather(
        subscription,
        _company(services, actor, stored, psa),
        _agreement(psa, agreement_id, stored),
        psa.lines(agreement_id),
        _catalog(services, actor, stored, psa, subscription),
        return_exceptions=True,
    )
    context = _context(stored, psa, _result(subscription_read), _result(company_read))
    if context.company_id is None:
        raise _customer_not_mapped(context.view, psa.vendor)
    async with psa_errors(services, actor.tenant_id):
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


async def _agreement(psa: PsaPort, agreement_id: int, stored: _Stored) -> Agreement:
    # Its currency is the plan's (the tenant's, else the order's): an agreement without one
    # is read in it. (An order that gives none cannot be planned: that is reported first.)
    currency = Currency(stored.tenant_currency or _order_currency(stored.order))
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


async def _catalog(
    services: Services,
    actor: Actor,
    stored: _Stored,
    psa: PsaPort,
    subscription: Awaitable[Subscription],
) -> mappings.MappedCatalog:
    """The catalog items of the plan's products: mapped ones read by id (the PSA client keeps
    them a short while), the others matched by MPN the first time and remembered."""
    mpns = {line.mpn for line in stored.order.lines}
    if stored.order.type is OrderType.CANCELLATION:
        # A cancellation ends every product of the subscription.
        mpns.update(product.mpn for product in (await subscription).products)
    mapped = sorted((mpn, stored.products[mpn]) for mpn in mpns if mpn in stored.products)
    others = sorted(mpns.difference(stored.products))
    matched, items = await asyncio.gather(
        mappings.match_catalog(services, actor, others, psa) if others else _no_catalog(),
        asyncio.gather(*(_mapped_items(psa, mpn, *ids) for mpn, ids in mapped)),
    )
    catalog = mappings.MappedCatalog(
        items=dict(matched.items), setup_items=dict(matched.setup_items)
    )
    for (mpn, _), (item, setup) in zip(mapped, items, strict=True):
        catalog.items[mpn] = item
        if setup is not None:
            catalog.setup_items[mpn] = setup
    return catalog


async def _no_catalog() -> mappings.MappedCatalog:
    return mappings.MappedCatalog(items={}, setup_items={})


async def _mapped_items(
    psa: PsaPort, mpn: str, item_id: int, setup_id: int | None
) -> tuple[CatalogItem, CatalogItem | None]:
    if setup_id is None:
        return await _mapped_item(psa, mpn, item_id), None
    item, setup = await asyncio.gather(
        _mapped_item(psa, mpn, item_id), _mapped_item(psa, mpn, setup_id)
    )
    return item, setup


async def _mapped_item(psa: PsaPort, mpn: str, item_id: int) -> CatalogItem:
    try:
        return await psa.catalog_item(item_id)
    except VendorNotFound:
        raise Invalid(
            f"{mpn} is mapped to catalog item #{item_id}, which {psa.vendor} no longer has: "
            "map the product again.",
            code="MappedItemMissing",
            details={"mpn": mpn, "catalogItemId": item_id},
        ) from None


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
