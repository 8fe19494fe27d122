"""Reconciliation as a use case (DESIGN §9, issue 16): read both sides at scale, compare, store.

The comparison itself is pure (:mod:`psasync.domain.reconciliation`); this module reads what it
compares and keeps the report:

- the marketplace in bulk: one paged listing of the reseller's active subscriptions (and of
  its customers and products), then each subscription's products, concurrently within a bound
  (the list shape has no products); reseller unit prices and costs are the products' recurring
  prices;
- the mappings (customers without one are matched by exact company name, as the mappings page
  does), and ConnectWise: the agreements of many companies per call (``company/id in (…)``),
  then each agreement's additions, concurrently within the same bound;
- the journal: what psasync wrote under each key (succeeded sync runs and fixes), so hand edits
  of psasync's lines show as ``manualEdit``.

A report is stored with who and when; :func:`latest_report` and :func:`report_csv` read it back,
:func:`start_reconciliation` runs it as a background job. Fixes: :mod:`.reconciliation_fix`.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import logging
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from psasync.adapters.http import AdapterError
from psasync.adapters.marketplace import Customer, Product, UnsupportedSubscription
from psasync.domain.agreements import Addition, Agreement
from psasync.domain.billing import add_months
from psasync.domain.money import Currency
from psasync.domain.orders import Subscription
from psasync.domain.plan import Action, PlannedAddition, PriceSource, PsaStyle
from psasync.domain.reconciliation import (
    AgreementLines,
    CustomerSnapshot,
    FixTiming,
    ItemKind,
    MarketplaceProduct,
    MarketplaceSubscription,
    ReconciliationItem,
    ReconciliationOptions,
    display_amount,
    reconcile,
)
from psasync.services import automation
from psasync.services import jobs as job_service
from psasync.services.actor import Actor
from psasync.services.context import Services
from psasync.services.errors import Invalid, NotFound
from psasync.services.integrations import note_psa_error, psa_for, tenant_psa_style, upstream
from psasync.services.jobs import JobView, Progress, runs
from psasync.services.mappings import catalog_for, remember_name_matches
from psasync.services.ports import PsaPort
from psasync.store import (
    JobKind,
    ReconciliationItemRow,
    ReconciliationReport,
    ReportStatus,
    snapshots,
)
from psasync.store import reconciliation as report_store
from psasync.store import tenants as tenant_store

log = logging.getLogger(__name__)

# Vendor reads in flight at once (subscriptions' products, agreements' additions).
DEFAULT_CONCURRENCY = 10
# Customers one request may name.
MAX_CUSTOMERS = 2_000
RECURRING = "recurring"


def next_period_start(now: dt.datetime) -> dt.date:
    """D: the first day of the next calendar month (monthly periods start on the 1st)."""
    return add_months(now.date().replace(day=1), 1)


@dataclass(frozen=True)
class ReconciliationRequest:
    """Which customers (None: every one with active subscriptions or a mapping), priced how."""

    customer_ids: tuple[str, ...] | None = None
    price_source: PriceSource = PriceSource.MARKETPLACE

    def __post_init__(self) -> None:
        if self.customer_ids is not None and len(self.customer_ids) > MAX_CUSTOMERS:
            raise Invalid(
                f"Name at most {MAX_CUSTOMERS} customers, not {len(self.customer_ids)}.",
                code="TooManyCustomers",
            )


@dataclass(frozen=True)
class ReadResult:
    """What reconciliation compares, and what could not be read (with why)."""

    customers: tuple[CustomerSnapshot, ...]
    notes: tuple[str, ...] = ()


# --- reads ---------------------------------------------------------------------------------------


async def read_snapshots(
    services: Services,
    actor: Actor,
    psa: PsaPort,
    *,
    customer_ids: Sequence[str] | None,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> ReadResult:
    """Both sides of every customer asked for (see the module docstring for how it reads)."""
    marketplace = actor.reads_marketplace()
    wanted = set(customer_ids) if customer_ids else None
    gate = asyncio.Semaphore(concurrency)

    async def bounded(call: Awaitable[Any]) -> Any:
        async with gate:
            return await call

    one = next(iter(wanted)) if wanted is not None and len(wanted) == 1 else None
    listed_customers, listed_subscriptions, listed_products = await asyncio.gather(
        _customers(marketplace, one),
        marketplace.list_subscriptions(customer_id=one, status="active"),
        marketplace.list_products(),
    )
    names = {customer.id: customer.name for customer in listed_customers}
    subscriptions: dict[str, list[Subscription]] = {}
    for subscription in listed_subscriptions.items:
        if wanted is None or subscription.customer_id in wanted:
            subscriptions.setdefault(subscription.customer_id, []).append(subscription)
    async with services.db.session() as session:
        mapped = {
            customer_id: mapping.company_id
            for customer_id, mapping in (
                await tenant_store.customer_mappings(session, actor.tenant_id)
            ).items()
        }
        stored_names = {
            customer.customer_id: customer.name
            for customer in await tenant_store.customers(session, actor.tenant_id)
        }
    universe = sorted(
        customer_id
        for customer_id in {*subscriptions, *mapped, *(wanted or ())}
        if (wanted is None or customer_id in wanted)
        and (customer_id in names or customer_id in subscriptions or customer_id in mapped)
    )

    def name_of(customer_id: str) -> str:
        return names.get(customer_id) or stored_names.get(customer_id) or customer_id

    unmapped = [c for c in universe if c not in mapped and c in subscriptions]
    if unmapped:
        mapped.update(
            await remember_name_matches(
                services, actor, await psa.companies(), [(c, name_of(c)) for c in unmapped]
            )
        )
    prices = _recurring_prices(listed_products.items)
    company_ids = sorted({mapped[c] for c in universe if c in mapped})
    to_read = [s for c in universe for s in subscriptions.get(c, ())]
    default_currency = await _tenant_currency(services, actor, prices)

    async def read_psa() -> tuple[list[Agreement], dict[int, list[Addition]]]:
        agreements = await psa.agreements_of_companies(
            company_ids, default_currency=default_currency
        )
        return agreements, await psa.lines_of([a.id for a in agreements])

    detailed, (agreements, lines) = await asyncio.gather(
        asyncio.gather(*(bounded(_detailed(marketplace, s)) for s in to_read)),
        read_psa(),
    )
    notes = [note for _, note in detailed if note]
    products_by_customer: dict[str, list[MarketplaceSubscription]] = {}
    mpns: set[str] = set()
    for subscription, _ in detailed:
        if subscription is None:
            continue
        priced = _priced(subscription, prices)
        if priced is not None:
            products_by_customer.setdefault(subscription.customer_id, []).append(priced)
            mpns.update(product.mpn for product in priced.products)
    catalog = (await catalog_for(services, actor, sorted(mpns | set(prices)), psa)).items
    catalog = {mpn: item for mpn, item in catalog.items() if mpn in prices}
    written = await written_by_key(services, actor, lines)
    by_company: dict[int, list[AgreementLines]] = {}
    for agreement in agreements:
        by_company.setdefault(agreement.company_id, []).append(
            AgreementLines(agreement=agreement, additions=tuple(lines.get(agreement.id, ())))
        )
    customers = []
    for customer_id in universe:
        company_id = mapped.get(customer_id)
        held = tuple(by_company.get(company_id, ())) if company_id is not None else ()
        keys = {a.sync_key for lines_of in held for a in lines_of.additions if a.sync_key}
        customers.append(
            CustomerSnapshot(
                customer_id=customer_id,
                customer_name=name_of(customer_id),
                company_id=company_id,
                subscriptions=tuple(products_by_customer.get(customer_id, ())),
                catalog=catalog,
                agreements=held,
                written={key: written[key] for key in keys if key in written},
            )
        )
    return ReadResult(customers=tuple(customers), notes=tuple(notes))


async def _customers(marketplace: Any, one: str | None) -> list[Customer]:
    if one is None:
        return list((await marketplace.list_customers()).items)
    try:
        return [await marketplace.get_customer(one)]
    except AdapterError:
        return []  # not the reseller's customer: reported as nothing to reconcile


async def _detailed(
    marketplace: Any, subscription: Subscription
) -> tuple[Subscription | None, str]:
    try:
        return await marketplace.get_subscription(subscription.id), ""
    except UnsupportedSubscription as error:
        return None, f"Subscription {subscription.id} is left out: {error.message}"


def _recurring_prices(products: Iterable[Product]) -> dict[str, tuple[Any, Any]]:
    """Each product's recurring reseller price and cost (products billed by usage have none)."""
    found: dict[str, tuple[Any, Any]] = {}
    for product in products:
        price = next((p.money for p in product.prices if p.type == RECURRING), None)
        if price is None:
            continue
        cost = next(
            (
                c.money
                for c in product.costs
                if c.type == RECURRING and c.money.currency == price.currency
            ),
            None,
        )
        found[product.mpn] = (price, cost)
    return found


def _priced(
    subscription: Subscription, prices: dict[str, tuple[Any, Any]]
) -> MarketplaceSubscription | None:
    products = []
    currency: str | None = None
    for held in subscription.products:
        priced = prices.get(held.mpn)
        if priced is None:
            continue
        price, cost = priced
        if currency is None:
            currency = price.currency
        elif price.currency != currency:
            continue
        products.append(
            MarketplaceProduct(
                mpn=held.mpn,
                quantity=held.quantity,
                unit_price=price.amount,
                unit_cost=cost.amount if cost is not None else None,
            )
        )
    if currency is None:
        return None
    return MarketplaceSubscription(
        id=subscription.id,
        billing_period=subscription.billing_period,
        currency=currency,
        products=tuple(products),
    )


async def _tenant_currency(
    services: Services, actor: Actor, prices: dict[str, tuple[Any, Any]]
) -> Currency:
    async with services.db.session() as session:
        tenant = await tenant_store.get_tenant(session, actor.tenant_id)
    code = tenant.currency if tenant and tenant.currency else None
    if code is None:
        code = next((price.currency for price, _ in prices.values()), "USD")
    return Currency(code)


async def written_by_key(
    services: Services, actor: Actor, lines: dict[int, list[Addition]]
) -> dict[str, PlannedAddition]:
    """What the journal says psasync wrote under each key: the create as applied, with
    psasync's later updates of that addition applied over it."""
    async with services.db.session() as session:
        plans = await report_store.written_plans(session, actor.tenant_id)
    key_of = {a.id: a.sync_key for shown in lines.values() for a in shown if a.sync_key}
    written: dict[str, PlannedAddition] = {}
    for _, plan_json, applied in plans:
        for action in snapshots.actions_from_json(plan_json):
            if action.key not in applied:
                continue
            if action.action is Action.CREATE:
                written[action.key] = action
                addition_id = applied[action.key]
                if addition_id is not None:
                    key_of.setdefault(addition_id, action.key)
                continue
            if action.action is not Action.UPDATE or action.addition_id is None:
                continue
            key = key_of.get(action.addition_id)
            if key is None or key not in written:
                continue
            written[key] = replace(
                written[key],
                quantity=action.quantity,
                unit_price=action.unit_price,
                unit_cost=action.unit_cost,
                bill_customer=action.bill_customer,
                taxable=action.taxable,
                description=action.description or written[key].description,
            )
    return written


# --- the report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindTotal:
    kind: str
    count: int
    impact: dict[str, Decimal]


@dataclass(frozen=True)
class CustomerTotal:
    customer_id: str
    customer_name: str
    count: int
    impact: dict[str, Decimal]


def display_impact(amount: Decimal, currency: str | None) -> str:
    """An amount rounded half up to its currency's decimals, as a decimal string."""
    if currency is None:
        return str(amount)
    return str(display_amount(amount, Currency(currency)))


@dataclass(frozen=True)
class ItemView:
    """One stored item. ``marketplace``, ``psa`` and ``fix`` are in the API's JSON shape."""

    id: str
    kind: str
    customer_id: str
    customer_name: str
    company_id: int | None
    mpn: str | None
    currency: str | None
    monthly_impact: Decimal
    marketplace: dict[str, Any] | None
    psa: dict[str, Any] | None
    fix: dict[str, Any] | None
    notes: tuple[str, ...]
    fix_outcome: str | None
    fixed_at: dt.datetime | None
    fix_error: str | None
    fix_note: str | None

    @property
    def display_impact(self) -> str:
        """The impact rounded to the currency, for people (the stored value is exact)."""
        return display_impact(self.monthly_impact, self.currency)

    @classmethod
    def of(cls, row: ReconciliationItemRow) -> ItemView:
        return cls(
            id=row.item_id,
            kind=row.kind,
            customer_id=row.customer_id,
            customer_name=row.customer_name,
            company_id=row.company_id,
            mpn=row.mpn,
            currency=row.currency,
            monthly_impact=row.monthly_impact,
            marketplace=json.loads(row.marketplace_json) if row.marketplace_json else None,
            psa=json.loads(row.psa_json) if row.psa_json else None,
            fix=json.loads(row.fix_json) if row.fix_json else None,
            notes=tuple(json.loads(row.notes_json or "[]")),
            fix_outcome=row.fix_outcome,
            fixed_at=row.fixed_at,
            fix_error=row.fix_error,
            fix_note=row.fix_note,
        )


@dataclass(frozen=True)
class ReportView:
    id: int
    created_at: dt.datetime
    created_by: str
    as_of: dt.date
    price_source: PriceSource
    customer_ids: tuple[str, ...] | None
    by_kind: tuple[KindTotal, ...]
    by_customer: tuple[CustomerTotal, ...]
    items: tuple[ItemView, ...]


def totals(items: Sequence[ItemView]) -> tuple[tuple[KindTotal, ...], tuple[CustomerTotal, ...]]:
    """Count and monthly impact (per currency) by kind, in ``ItemKind`` order, and by customer,
    largest absolute impact first."""
    kinds: dict[str, tuple[int, dict[str, Decimal]]] = {}
    customers: dict[str, tuple[str, int, dict[str, Decimal]]] = {}
    for item in items:
        count, impact = kinds.get(item.kind, (0, {}))
        kinds[item.kind] = (count + 1, _add(impact, item))
        name, count, impact = customers.get(item.customer_id, (item.customer_name, 0, {}))
        customers[item.customer_id] = (name, count + 1, _add(impact, item))
    order = [kind.value for kind in ItemKind]
    by_kind = tuple(
        KindTotal(kind=kind, count=kinds[kind][0], impact=kinds[kind][1])
        for kind in sorted(kinds, key=lambda k: order.index(k) if k in order else len(order))
    )
    by_customer = tuple(
        sorted(
            (
                CustomerTotal(customer_id=cid, customer_name=name, count=count, impact=impact)
                for cid, (name, count, impact) in customers.items()
            ),
            key=lambda total: (-sum(abs(v) for v in total.impact.values()), total.customer_id),
        )
    )
    return by_kind, by_customer


def _add(impact: dict[str, Decimal], item: ItemView) -> dict[str, Decimal]:
    if item.currency is None:
        return impact
    return {**impact, item.currency: impact.get(item.currency, Decimal(0)) + item.monthly_impact}


def _report_view(report: ReconciliationReport, rows: Sequence[ReconciliationItemRow]) -> ReportView:
    items = tuple(ItemView.of(row) for row in rows)
    by_kind, by_customer = totals(items)
    return ReportView(
        id=report.id,
        created_at=report.created_at,
        created_by=report.created_by,
        as_of=dt.date.fromisoformat(report.as_of),
        price_source=PriceSource(report.price_source),
        customer_ids=tuple(json.loads(report.customer_filter)) if report.customer_filter else None,
        by_kind=by_kind,
        by_customer=by_customer,
        items=items,
    )


def _item_row(position: int, item: ReconciliationItem) -> ReconciliationItemRow:
    return ReconciliationItemRow(
        position=position,
        item_id=item.id,
        kind=item.kind.value,
        customer_id=item.customer_id,
        customer_name=item.customer_name,
        company_id=item.company_id,
        mpn=item.mpn,
        currency=item.currency,
        monthly_impact=item.monthly_impact,
        marketplace_json=_dump(marketplace_json(item)) if item.marketplace else None,
        psa_json=_dump(psa_json(item)) if item.psa else None,
        fix_json=_dump(fix_json(item)) if item.fix else None,
        notes_json=_dump(list(item.notes)),
    )


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def marketplace_json(item: ReconciliationItem) -> dict[str, Any] | None:
    side = item.marketplace
    if side is None:
        return None
    return {
        "subscriptionId": side.subscription_id,
        "mpn": side.mpn,
        "quantity": str(side.quantity),
        "unitPrice": str(side.unit_price),
        "currency": side.currency,
        "billingPeriod": {
            "type": side.billing_period.unit.value,
            "duration": side.billing_period.count,
        },
    }


def psa_json(item: ReconciliationItem) -> dict[str, Any] | None:
    side = item.psa
    if side is None:
        return None
    return {
        "agreementId": side.agreement_id,
        "agreementName": side.agreement_name,
        "additionIds": list(side.addition_ids),
        "quantity": str(side.quantity),
        "unitPrice": str(side.unit_price),
    }


def fix_json(item: ReconciliationItem) -> dict[str, Any] | None:
    fix = item.fix
    if fix is None:
        return None
    return {
        "agreementId": fix.agreement_id,
        "effectiveDate": fix.effective_date.isoformat(),
        "actions": json.loads(snapshots.actions_to_json(fix.actions))["actions"],
    }


async def build_report(
    services: Services,
    actor: Actor,
    request: ReconciliationRequest,
    *,
    as_of: dt.date | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> ReportView:
    """Read, compare and store a report for the actor's tenant; the report as stored."""
    psa = await psa_for(services, actor.tenant_id)
    day = as_of or next_period_start(services.now())
    try:
        read = await read_snapshots(
            services, actor, psa, customer_ids=request.customer_ids, concurrency=concurrency
        )
    except AdapterError as error:
        await note_psa_error(services, actor.tenant_id, error)
        raise upstream(error) from None
    options = ReconciliationOptions(
        as_of=day, price_source=request.price_source, psa=await psa_style(services, actor)
    )
    items = reconcile(read.customers, options=options)
    rows = [_item_row(position, item) for position, item in enumerate(items, start=1)]
    views = [ItemView.of(row) for row in rows]
    by_kind, by_customer = totals(views)
    report = ReconciliationReport(
        tenant_id=actor.tenant_id,
        created_at=services.now(),
        created_by=actor.name,
        as_of=day.isoformat(),
        price_source=request.price_source.value,
        customer_filter=_dump(list(request.customer_ids)) if request.customer_ids else None,
        totals_json=_dump(
            {
                "byKind": [_kind_total_json(total) for total in by_kind],
                "notes": list(read.notes),
            }
        ),
        status=ReportStatus.COMPLETE.value,
    )
    async with services.db.session() as session:
        await report_store.save_report(session, report, rows)
        view = _report_view(report, rows)
    log.info(
        "reconciliation report %s for tenant %s: %s items over %s customers",
        view.id,
        actor.tenant_id,
        len(items),
        len(read.customers),
    )
    return view


async def psa_style(services: Services, actor: Actor) -> PsaStyle:
    """The tenant's PSA, whose names the items' notes use (ConnectWise until one is set)."""
    return await tenant_psa_style(services, actor.tenant_id) or PsaStyle.CONNECTWISE


def _kind_total_json(total: KindTotal) -> dict[str, Any]:
    return {
        "kind": total.kind,
        "count": total.count,
        "impact": {code: str(amount) for code, amount in total.impact.items()},
    }


async def latest_report(
    services: Services,
    actor: Actor,
    *,
    customer_id: str | None = None,
    kind: str | None = None,
) -> ReportView:
    """The tenant's newest report, its items (and totals) narrowed by customer and kind."""
    if kind is not None and kind not in {k.value for k in ItemKind}:
        allowed = ", ".join(k.value for k in ItemKind)
        raise Invalid(f"kind must be one of {allowed}, not {kind!r}", code="InvalidFilter")
    async with services.db.session() as session:
        report = await report_store.latest_report(session, actor.tenant_id)
        if report is None:
            raise NotFound("There is no reconciliation report yet: run one first.", code="NoReport")
        rows = await report_store.report_items(
            session, report.id, customer_id=customer_id, kind=kind
        )
        return _report_view(report, rows)


CSV_COLUMNS = (
    "itemId",
    "kind",
    "customerId",
    "customerName",
    "companyId",
    "mpn",
    "currency",
    "monthlyImpact",
    "subscriptionId",
    "marketplaceQuantity",
    "marketplaceUnitPrice",
    "agreementId",
    "agreementName",
    "additionIds",
    "psaQuantity",
    "psaUnitPrice",
    "fixEffectiveDate",
    "fixActions",
    "fixed",
    "notes",
)


def report_csv_text(report: ReportView) -> str:
    """The report's items as CSV with a header row (amounts exact, as stored)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in report.items:
        market = item.marketplace or {}
        psa = item.psa or {}
        fix = item.fix or {}
        writer.writerow(
            [
                item.id,
                item.kind,
                item.customer_id,
                _cell(item.customer_name),
                item.company_id if item.company_id is not None else "",
                _cell(item.mpn or ""),
                item.currency or "",
                str(item.monthly_impact),
                market.get("subscriptionId", ""),
                market.get("quantity", ""),
                market.get("unitPrice", ""),
                psa.get("agreementId", ""),
                _cell(psa.get("agreementName", "")),
                " ".join(str(i) for i in psa.get("additionIds", ())),
                psa.get("quantity", ""),
                psa.get("unitPrice", ""),
                fix.get("effectiveDate", ""),
                "; ".join(f"{a['action']} {a['key']}" for a in fix.get("actions", ())),
                item.fixed_at.isoformat() if item.fixed_at else "",
                _cell(" ".join(item.notes)),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def report_csv(
    services: Services,
    actor: Actor,
    *,
    customer_id: str | None = None,
    kind: str | None = None,
) -> str:
    """The latest report as CSV (same filters as :func:`latest_report`)."""
    return report_csv_text(await latest_report(services, actor, customer_id=customer_id, kind=kind))


# --- the reports over time ----------------------------------------------------------------------

# Stored reports the trend reads at most.
MAX_HISTORY = 100


@dataclass(frozen=True)
class ReportSummary:
    """One stored report in a line: its drift per currency, net (``impact``, positive =
    under-billed) and apart (``under``: the sum of positive impacts; ``over``: of negative ones,
    as a negative amount)."""

    id: int
    created_at: dt.datetime
    created_by: str
    as_of: dt.date
    customer_ids: tuple[str, ...] | None
    items: int
    impact: dict[str, Decimal]
    under: dict[str, Decimal]
    over: dict[str, Decimal]

    def drift(self, currency: str) -> Decimal:
        """How far billing is off a month in ``currency``, both ways: under − over."""
        return self.under.get(currency, Decimal(0)) - self.over.get(currency, Decimal(0))


async def report_history(
    services: Services, actor: Actor, limit: int = 12
) -> tuple[ReportSummary, ...]:
    """The tenant's newest ``limit`` stored reports (at most :data:`MAX_HISTORY`), oldest
    first, each summed from its stored items."""
    limit = max(1, min(limit, MAX_HISTORY))
    async with services.db.session() as session:
        reports = list(
            await session.scalars(
                select(ReconciliationReport)
                .where(ReconciliationReport.tenant_id == actor.tenant_id)
                .order_by(ReconciliationReport.created_at.desc(), ReconciliationReport.id.desc())
                .limit(limit)
            )
        )
        rows = (
            await session.execute(
                select(
                    ReconciliationItemRow.report_id,
                    ReconciliationItemRow.currency,
                    ReconciliationItemRow.monthly_impact,
                ).where(ReconciliationItemRow.report_id.in_([r.id for r in reports]))
            )
        ).all()
    counts: dict[int, int] = {}
    sums: dict[int, tuple[dict[str, Decimal], dict[str, Decimal], dict[str, Decimal]]] = {}
    for report_id, currency, amount in rows:
        counts[report_id] = counts.get(report_id, 0) + 1
        impact, under, over = sums.setdefault(report_id, ({}, {}, {}))
        if currency is None:
            continue
        impact[currency] = impact.get(currency, Decimal(0)) + amount
        side = under if amount > 0 else over
        side[currency] = side.get(currency, Decimal(0)) + amount
    return tuple(
        ReportSummary(
            id=report.id,
            created_at=report.created_at,
            created_by=report.created_by,
            as_of=dt.date.fromisoformat(report.as_of),
            customer_ids=(
                tuple(json.loads(report.customer_filter)) if report.customer_filter else None
            ),
            items=counts.get(report.id, 0),
            impact=sums.get(report.id, ({}, {}, {}))[0],
            under=sums.get(report.id, ({}, {}, {}))[1],
            over=sums.get(report.id, ({}, {}, {}))[2],
        )
        for report in reversed(reports)
    )


# --- as a job ------------------------------------------------------------------------------------


def lock_of(tenant_id: int) -> str:
    return f"reconcile:{tenant_id}"


async def require_unattended(services: Services, actor: Actor, what: str) -> None:
    """Background work reads the marketplace as the integration user: refuse without one."""
    job_service.queue_of(services)
    await psa_for(services, actor.tenant_id)
    settings = await automation.automation_settings(services, actor)
    if settings.marketplace_user is None:
        raise Invalid(
            f"{what} runs in the background and reads the Cloud Marketplace as the integration "
            "user, because psasync never keeps your password: set one on the automation page "
            "first.",
            code="NoIntegrationUser",
        )


async def start_reconciliation(
    services: Services, actor: Actor, request: ReconciliationRequest
) -> JobView:
    """Queue a reconciliation of the tenant (or of the customers named); 202 with the job."""
    await require_unattended(services, actor, "Reconciliation")
    params = {
        "customerIds": list(request.customer_ids) if request.customer_ids else None,
        "priceSource": request.price_source.value,
    }
    return await job_service.submit(
        services, actor, JobKind.RECONCILE, params, lock=lock_of(actor.tenant_id)
    )


async def job_actor(services: Services, job: JobView) -> Actor:
    """The job's submitter, reading the marketplace as the tenant's integration user."""
    unattended = await automation.automation_actor(services, job.tenant_id)
    return Actor(tenant_id=job.tenant_id, name=job.actor, marketplace=unattended.marketplace)


@runs(JobKind.RECONCILE)
async def run_reconciliation_job(
    services: Services, job: JobView, progress: Progress
) -> dict[str, Any]:
    actor = await job_actor(services, job)
    customer_ids = job.params.get("customerIds")
    request = ReconciliationRequest(
        customer_ids=tuple(customer_ids) if customer_ids else None,
        price_source=PriceSource(job.params.get("priceSource", PriceSource.MARKETPLACE.value)),
    )
    await progress(0, 1)
    report = await build_report(services, actor, request)
    await progress(1, 1)
    return summary_json(report)


def summary_json(report: ReportView) -> dict[str, Any]:
    return {
        "reportId": report.id,
        "asOf": report.as_of.isoformat(),
        "items": len(report.items),
        "byKind": [_kind_total_json(total) for total in report.by_kind],
    }


# FixTiming and the stored report are re-exported for the web layer and the fix runner.
__all__ = [
    "DEFAULT_CONCURRENCY",
    "CustomerTotal",
    "FixTiming",
    "ItemView",
    "KindTotal",
    "ReconciliationRequest",
    "ReportSummary",
    "ReportView",
    "build_report",
    "display_impact",
    "latest_report",
    "next_period_start",
    "read_snapshots",
    "report_csv",
    "report_csv_text",
    "report_history",
    "start_reconciliation",
    "totals",
    "written_by_key",
]
