"""Check Changes: new completed marketplace orders become synchronization tasks.

Everything is read from the marketplace first, then written in one transaction: a marketplace
that fails mid-way leaves no half-made tasks and the watermark where it was. Running it twice
creates nothing the second time (an order id is unique per tenant), and an order still being
processed holds the watermark back until it completes.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from psasync.adapters.marketplace import MarketplaceError, Skipped
from psasync.domain.orders import Order, OrderStatus
from psasync.services.actor import Actor, MarketplaceAccess
from psasync.services.context import Services
from psasync.services.errors import Conflict, NotFound
from psasync.services.integrations import upstream
from psasync.services.tasks import TaskView
from psasync.store import SyncTask, TaskStatus, snapshots
from psasync.store import locks as lock_store
from psasync.store import tasks as task_store
from psasync.store import tenants as tenant_store

log = logging.getLogger(__name__)

# Up to this many unknown customers are read one by one; more, and the whole list is cheaper.
SINGLE_CUSTOMER_READS = 10
# The tenant lock Check Changes holds, and how long a holder that crashed keeps others out.
CHECK_LOCK = "check-changes"
CHECK_LEASE = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class CheckResult:
    """What one Check Changes found."""

    created: list[TaskView]
    already_known: int
    pending: int
    skipped: tuple[Skipped, ...]
    checked_from: dt.datetime
    checked_through: dt.datetime


async def check_changes(services: Services, actor: Actor) -> CheckResult:
    """Turn the reseller's new completed orders into tasks (see the module docstring).

    One Check Changes per tenant at a time, in every process: a second one meanwhile is a
    :class:`Conflict` (``CheckRunning``).
    """
    async with _holding_check_lock(services, actor):
        return await _check(services, actor)


@asynccontextmanager
async def _holding_check_lock(services: Services, actor: Actor) -> AsyncIterator[None]:
    """The tenant's Check Changes lock, claimed in the database and released on every exit; a
    crashed holder's lease lapses after :data:`CHECK_LEASE`."""
    holder = secrets.token_hex(16)
    now = services.now()
    try:
        async with services.db.session() as session:
            claimed = await lock_store.claim_lock(
                session,
                tenant_id=actor.tenant_id,
                purpose=CHECK_LOCK,
                holder=holder,
                held_by=actor.name,
                now=now,
                until=now + CHECK_LEASE,
            )
    except IntegrityError:  # no such tenant (any more)
        raise NotFound("the account is not known any more; log in again", code="NoTenant") from None
    if not claimed:
        raise Conflict("Check Changes is already running for this account", code="CheckRunning")
    try:
        yield
    finally:
        async with services.db.session() as session:
            await lock_store.release_lock(
                session, tenant_id=actor.tenant_id, purpose=CHECK_LOCK, holder=holder
            )


async def _check(services: Services, actor: Actor) -> CheckResult:
    now = services.now()
    async with services.db.session() as session:
        tenant = await tenant_store.get_tenant(session, actor.tenant_id)
        if tenant is None:
            raise NotFound("the account is not known any more; log in again", code="NoTenant")
        watermark = tenant.orders_checked_through
    lookback = dt.timedelta(days=services.settings.check_lookback_days)
    since = watermark - services.check_overlap if watermark else now - lookback
    marketplace = actor.reads_marketplace()
    try:
        listing = await marketplace.list_orders(created_from=since, created_to=now)
        orders = listing.items
        completed = [order for order in orders if order.status is OrderStatus.COMPLETED]
        async with services.db.session() as session:
            known = await task_store.existing_order_ids(
                session, actor.tenant_id, (order.id for order in completed)
            )
            new = [order for order in completed if order.id not in known]
            names = await tenant_store.customer_names(
                session, actor.tenant_id, (order.customer_id for order in new)
            )
        names.update(await _read_customer_names(marketplace, _missing(new, names)))
    except MarketplaceError as error:
        raise upstream(error) from None
    pending = [order for order in orders if order.status.is_pending]
    through = min([now, *(order.created_at for order in pending)])
    created = await _store(services, actor, new=new, names=names, through=through)
    log.info(
        "check changes for tenant %s: %d new tasks, %d known, %d pending",
        actor.tenant_id,
        len(created),
        len(completed) - len(new),
        len(pending),
    )
    return CheckResult(
        created=created,
        already_known=len(completed) - len(new),
        pending=len(pending),
        skipped=listing.skipped,
        checked_from=since,
        checked_through=through,
    )


def _missing(orders: Iterable[Order], names: dict[str, str]) -> set[str]:
    return {order.customer_id for order in orders if order.customer_id not in names}


async def _read_customer_names(marketplace: MarketplaceAccess, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    if len(ids) <= SINGLE_CUSTOMER_READS:
        return {cid: (await marketplace.get_customer(cid)).name for cid in sorted(ids)}
    everyone = (await marketplace.list_customers()).items
    found = {customer.id: customer.name for customer in everyone if customer.id in ids}
    for cid in ids - found.keys():  # a customer the list no longer shows: ask for it
        found[cid] = (await marketplace.get_customer(cid)).name
    return found


async def _store(
    services: Services,
    actor: Actor,
    *,
    new: Sequence[Order],
    names: dict[str, str],
    through: dt.datetime,
) -> list[TaskView]:
    now = services.now()
    rows = [_task_row(actor.tenant_id, order, names[order.customer_id], now) for order in new]
    try:
        async with services.db.session() as session:
            await tenant_store.remember_customers(
                session,
                actor.tenant_id,
                {order.customer_id: names[order.customer_id] for order in new},
                now=now,
            )
            stored = await task_store.add_tasks(session, rows)
            tenant = await tenant_store.get_tenant(session, actor.tenant_id)
            if tenant is not None:
                tenant.orders_checked_through = through
            return [TaskView.of(row) for row in stored]
    except IntegrityError:
        # Another process checked the same orders at the same moment; its tasks stand.
        raise Conflict(
            "another Check Changes created these tasks at the same time; reload the list",
            code="CheckRunning",
        ) from None


def _task_row(tenant_id: int, order: Order, customer_name: str, now: dt.datetime) -> SyncTask:
    return SyncTask(
        tenant_id=tenant_id,
        order_id=order.id,
        order_number=order.number,
        order_type=order.type.value,
        customer_id=order.customer_id,
        customer_name=customer_name,
        subscription_id=order.subscription_id,
        status=TaskStatus.NEW.value,
        order_created_at=order.created_at,
        order_json=snapshots.order_to_json(order),
        created_at=now,
        updated_at=now,
    )
