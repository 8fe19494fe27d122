"""The tables psasync keeps: tenants, their ConnectWise settings, mappings, tasks and the journal.

Every row but the tenant's own belongs to one tenant (a reseller account on one marketplace);
repositories take the tenant id first so no query can forget it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from psasync.store.types import DecimalText, UTCDateTime

# Named constraints, so migrations can refer to them on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The job queue (Procrastinate) keeps its own tables in the same PostgreSQL database; they are
# its schema, installed by ``psasync db upgrade``, never psasync's migrations.
QUEUE_TABLE_PREFIX = "procrastinate_"
# On SQLite the task search's trigram index is an FTS5 table and its shadow tables (migration
# 0011, kept by triggers): SQLite's own structures, which the models cannot declare.
TASK_SEARCH_TABLE = "sync_tasks_search"


def owned_by_psasync(name: str | None, kind: str, _parent: object = None) -> bool:
    """Whether a database object belongs to psasync's schema (Alembic's ``include_name``)."""
    if kind != "table":
        return True
    return not (name or "").startswith((QUEUE_TABLE_PREFIX, TASK_SEARCH_TABLE))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TaskStatus(StrEnum):
    NEW = "new"
    SYNCED = "synced"
    FAILED = "failed"
    IGNORED = "ignored"


class RunOutcome(StrEnum):
    """How a sync run ended; ``running`` until it does (or until a crash leaves it so)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ActionOutcome(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    FOUND_APPLIED = "found_applied"
    SKIPPED = "skipped"
    # The write's answer never came (timeout, dropped connection, 5xx): it may yet land.
    UNKNOWN = "unknown"
    FAILED = "failed"


class MappingSource(StrEnum):
    MANUAL = "manual"
    AUTOMATIC = "automatic"


class Tenant(Base):
    """A reseller account on one marketplace: everything else hangs off it."""

    __tablename__ = "tenants"
    __table_args__ = (UniqueConstraint("marketplace", "reseller_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(32))
    reseller_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    currency: Mapped[str | None] = mapped_column(String(3))
    # Check Changes reads orders created from here on (exclusive of nothing: tasks dedupe).
    orders_checked_through: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ConnectWiseSettings(Base):
    """The tenant's ConnectWise API member; the private key only ever stored encrypted."""

    __tablename__ = "connectwise_settings"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    site_url: Mapped[str] = mapped_column(String(300))
    company_id: Mapped[str] = mapped_column(String(100))
    public_key: Mapped[str] = mapped_column(String(200))
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str] = mapped_column(String(100))
    codebase: Mapped[str | None] = mapped_column(String(100))
    change_strategy: Mapped[str] = mapped_column(String(32), default="replace")
    credit_downgrades: Mapped[bool] = mapped_column(Boolean, default=True)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(300))


class Customer(Base):
    """A marketplace customer as last seen, so task lists need no marketplace call."""

    __tablename__ = "customers"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class CustomerMapping(Base):
    """Marketplace customer → ConnectWise company."""

    __tablename__ = "customer_mappings"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    company_id: Mapped[int] = mapped_column(Integer)
    company_name: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(300))


class ProductMapping(Base):
    """Marketplace product (MPN) → ConnectWise catalog item."""

    __tablename__ = "product_mappings"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    mpn: Mapped[str] = mapped_column(String(200), primary_key=True)
    catalog_item_id: Mapped[int] = mapped_column(Integer)
    identifier: Mapped[str | None] = mapped_column(String(100))
    # The item whose price a setup fee takes from the ConnectWise Catalog (none: marketplace).
    setup_catalog_item_id: Mapped[int | None] = mapped_column(Integer)
    setup_identifier: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(300))


class SyncTask(Base):
    """One marketplace order to carry over to ConnectWise, with the order as it was read."""

    __tablename__ = "sync_tasks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "order_id"),
        Index("ix_sync_tasks_tenant_status", "tenant_id", "status"),
        Index("ix_sync_tasks_tenant_created", "tenant_id", "order_created_at"),
        # A search too short for SQLite's trigram table counts and picks its matches from this
        # index alone (store.tasks): the tenant's entries only, never the order snapshots.
        Index("ix_sync_tasks_tenant_search", "tenant_id", "search_text", "order_created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    order_id: Mapped[str] = mapped_column(String(64))
    order_number: Mapped[str] = mapped_column(String(64))
    order_type: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str] = mapped_column(String(64))
    customer_name: Mapped[str] = mapped_column(String(300))
    subscription_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.NEW.value)
    error: Mapped[str | None] = mapped_column(Text)
    order_created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    order_json: Mapped[str] = mapped_column(Text)
    # The subscription as read for the first preview; a resumed sync reuses the run's plan.
    subscription_json: Mapped[str | None] = mapped_column(Text)
    # A sync run owns the task through its claim token while its lease lasts; the run renews the
    # lease while it lives, and a crashed run's claim lapses when the lease passes.
    claim_token: Mapped[str | None] = mapped_column(String(64))
    # Why an unattended run left this task for a person ("2 agreements eligible", ...).
    waiting_reason: Mapped[str | None] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text, index=True)  # see store.tasks.search_text
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    agreement_id: Mapped[int | None] = mapped_column(Integer)
    synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SyncRun(Base):
    """One Sync of a task: who, when, to which agreement, the plan applied and how it ended."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_tenant_started", "tenant_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("sync_tasks.id"), index=True)
    agreement_id: Mapped[int] = mapped_column(Integer)
    agreement_name: Mapped[str] = mapped_column(String(300))
    price_source: Mapped[str] = mapped_column(String(16))
    user: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16), default=RunOutcome.RUNNING.value)
    error: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    prorated_amount: Mapped[Decimal] = mapped_column(DecimalText())
    recurring_before: Mapped[Decimal] = mapped_column(DecimalText())
    recurring_after: Mapped[Decimal] = mapped_column(DecimalText())
    plan_json: Mapped[str] = mapped_column(Text)

    actions: Mapped[list[SyncAction]] = relationship(
        back_populates="run", order_by="SyncAction.position", lazy="selectin"
    )
    events: Mapped[list[SyncEvent]] = relationship(
        back_populates="run", order_by="SyncEvent.id", lazy="selectin"
    )


class SyncAction(Base):
    """One action of a run, recorded before the next one starts."""

    __tablename__ = "sync_actions"
    __table_args__ = (UniqueConstraint("run_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id"))
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    mpn: Mapped[str] = mapped_column(String(200))
    addition_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16), default=ActionOutcome.PENDING.value)
    error: Mapped[str | None] = mapped_column(Text)
    # Set just before each vendor write: a run that resumes after a crash knows which write may
    # have been in flight, and since when, so it looks for that one before writing again.
    attempted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # What the PSA showed just before the write (JSON, the PSA's own terms): how an unknown
    # outcome is decided later, by this run or the one that resumes it (e.g. Autotask's units
    # before an adjustment, which cannot be read back).
    expectation_json: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    run: Mapped[SyncRun] = relationship(back_populates="actions")


class SyncEventKind(StrEnum):
    """What a run's verification of the agreement found, or did, beyond its planned actions."""

    SURPLUS_DELETED = "surplus_deleted"
    SURPLUS_KEPT = "surplus_kept"
    MISSING = "missing"
    DIFFERS = "differs"
    UNVERIFIED = "unverified"


class SyncEvent(Base):
    """Something a run noticed about ConnectWise after writing: a surplus copy, a changed line."""

    __tablename__ = "sync_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str | None] = mapped_column(String(100))
    addition_id: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    run: Mapped[SyncRun] = relationship(back_populates="events")


class UserSessionRow(Base):
    """A logged-in user's session (DESIGN §7). Found by the SHA-256 of the cookie's session id;
    the id itself is never stored. The marketplace token is stored sealed; the password that
    renews it is not stored at all (it travels sealed in the signed cookie only)."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_expires_at", "expires_at"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    username: Mapped[str] = mapped_column(String(300))
    marketplace: Mapped[str] = mapped_column(String(32))
    reseller_id: Mapped[str] = mapped_column(String(64))
    reseller_name: Mapped[str] = mapped_column(String(300))
    csrf_token: Mapped[str] = mapped_column(String(100))
    token_encrypted: Mapped[str] = mapped_column(Text)
    token_issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    token_expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Idle expiry: last seen plus the idle timeout; a row past it is gone for every process.
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TenantLock(Base):
    """One holder at a time per tenant and purpose (e.g. ``check-changes``), across processes.

    Claimed by one conditional upsert; a holder releases it in ``finally``, and a crashed
    holder's lease lapses at ``held_until``."""

    __tablename__ = "tenant_locks"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    held_by: Mapped[str] = mapped_column(String(300))
    acquired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    held_until: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class IntegrationUser(Base):
    """The tenant's marketplace integration user for unattended work (DESIGN §7): checked
    against the marketplace before it is saved, its password only ever stored sealed."""

    __tablename__ = "integration_users"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    username: Mapped[str] = mapped_column(String(300))
    password_encrypted: Mapped[str] = mapped_column(Text)
    configured_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    configured_by: Mapped[str] = mapped_column(String(300))


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobKind(StrEnum):
    AUTOMATION = "automation"
    SYNC_BULK = "sync_bulk"
    RECONCILE = "reconcile"
    RECONCILE_FIX = "reconcile_fix"


class Job(Base):
    """A piece of background work as the reseller sees it: what, for whom, how far, how it ended.

    The queue itself is Procrastinate's; this row is psasync's own record of the job, so the
    jobs page reads the same on the embedded SQLite default and on PostgreSQL.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    actor: Mapped[str] = mapped_column(String(300))
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    result_json: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class JobPart(Base):
    """One part of a job whose work continues as jobs of their own (an unattended run's sync of
    one task): run by any worker, each under its own lock; the job ends when its last part has
    (DESIGN §8: ``sync_task`` jobs, one lock per task)."""

    __tablename__ = "job_parts"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The order the parts were created in: the order the job's result lists them.
    position: Mapped[int] = mapped_column(Integer)
    result_json: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AutomationConfig(Base):
    """A tenant's unattended operation: when Check Changes runs, what syncs without review,
    and who hears about it (DESIGN §8). No row: everything off."""

    __tablename__ = "automation_settings"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    # "15m", "1h" or "1d" (then at ``schedule_at``, local to ``timezone``); None: no schedule.
    schedule_every: Mapped[str | None] = mapped_column(String(8))
    schedule_at: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    auto_sync_order_types: Mapped[str] = mapped_column(Text, default="[]")
    auto_sync_price_source: Mapped[str] = mapped_column(String(16), default="marketplace")
    allow_credits: Mapped[bool] = mapped_column(Boolean, default=False)
    max_amount: Mapped[Decimal | None] = mapped_column(DecimalText())
    notify_emails: Mapped[str] = mapped_column(Text, default="[]")
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    next_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(300))


class ReportStatus(StrEnum):
    COMPLETE = "complete"


class FixOutcome(StrEnum):
    """Where an item's fix stands: ``running`` while applied (or cut short), then how it ended."""

    RUNNING = "running"
    FIXED = "fixed"
    ALREADY_FIXED = "already_fixed"
    FAILED = "failed"


class ReconciliationReport(Base):
    """One reconciliation (DESIGN §9): who ran it, when, for which D and which customers."""

    __tablename__ = "reconciliation_reports"
    __table_args__ = (Index("ix_reconciliation_reports_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(300))
    # D, the next period start, as an ISO day.
    as_of: Mapped[str] = mapped_column(String(10))
    price_source: Mapped[str] = mapped_column(String(16))
    # The customers asked for (JSON list), or null for every customer.
    customer_filter: Mapped[str | None] = mapped_column(Text)
    totals_json: Mapped[str] = mapped_column(Text, default="{}")
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.COMPLETE.value)


class ReconciliationItemRow(Base):
    """One item of a report with both sides and its fix; a fix in progress holds it by claim."""

    __tablename__ = "reconciliation_items"
    __table_args__ = (
        UniqueConstraint("report_id", "item_id"),
        Index("ix_reconciliation_items_report_customer", "report_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_reports.id"))
    position: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str] = mapped_column(String(64))
    customer_name: Mapped[str] = mapped_column(String(300))
    company_id: Mapped[int | None] = mapped_column(Integer)
    mpn: Mapped[str | None] = mapped_column(String(200))
    currency: Mapped[str | None] = mapped_column(String(3))
    monthly_impact: Mapped[Decimal] = mapped_column(DecimalText())
    marketplace_json: Mapped[str | None] = mapped_column(Text)
    psa_json: Mapped[str | None] = mapped_column(Text)
    fix_json: Mapped[str | None] = mapped_column(Text)
    notes_json: Mapped[str] = mapped_column(Text, default="[]")
    # The fix as applied: who, when, on which agreement, the actions (its own small journal).
    fix_outcome: Mapped[str | None] = mapped_column(String(16))
    fix_by: Mapped[str | None] = mapped_column(String(300))
    fix_agreement_id: Mapped[int | None] = mapped_column(Integer)
    fix_plan_json: Mapped[str | None] = mapped_column(Text)
    fix_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    fixed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    fix_error: Mapped[str | None] = mapped_column(Text)
    fix_note: Mapped[str | None] = mapped_column(Text)
    # A fix owns the item through its token while its lease lasts (as a sync run owns its task).
    claim_token: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    fix_actions: Mapped[list[ReconciliationFixAction]] = relationship(
        order_by="ReconciliationFixAction.position", lazy="selectin"
    )


class ReconciliationFixAction(Base):
    """One action of an item's fix, recorded before the next one starts (as ``SyncAction``)."""

    __tablename__ = "reconciliation_fix_actions"
    __table_args__ = (UniqueConstraint("item_row_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_row_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_items.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    agreement_id: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    mpn: Mapped[str] = mapped_column(String(200))
    addition_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16), default=ActionOutcome.PENDING.value)
    error: Mapped[str | None] = mapped_column(Text)
    attempted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # What the PSA showed just before the last attempt (``PsaPort.expect``), as on SyncAction.
    expectation_json: Mapped[str | None] = mapped_column(Text)


class AutotaskSettings(Base):
    """The tenant's Autotask API user; the secret and the integration code only stored sealed.

    ``zone_url`` is the zone's REST root (``…/atservicesrest/``), as typed or as discovery found
    it. A tenant has ConnectWise settings or Autotask settings, never both (DESIGN §11).
    """

    __tablename__ = "autotask_settings"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    username: Mapped[str] = mapped_column(String(300))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    integration_code_encrypted: Mapped[str] = mapped_column(Text)
    zone_url: Mapped[str] = mapped_column(String(2000))
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(300))
