"""The JSON of the REST API (DESIGN.md §4): field names in the vendors' camelCase, amounts as
decimal strings, dates in ISO form."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from psasync.services import ServiceError, UserSession
from psasync.services.automation import (
    AutomationSettings,
    AutoSyncPolicy,
    Every,
    IntegrationUserView,
    MarketplaceUserChange,
    NotifyChange,
    ScheduleChange,
    SettingsChange,
)
from psasync.services.check_changes import CheckResult
from psasync.services.history import HistoryEntry, HistoryPage
from psasync.services.integrations import IntegrationTile
from psasync.services.jobs import JobView
from psasync.services.mappings import CustomerMappingView, ProductMappingView
from psasync.services.planning import AgreementChoice
from psasync.services.sync import ActionResult, RunEvent, SyncOutcome
from psasync.services.tasks import TaskDetail, TaskPage, TaskView
from psasync.services.types import (
    BillCustomer,
    Notice,
    Order,
    OrderLine,
    OrderType,
    Plan,
    PlannedAddition,
    PriceSource,
    ReviewedAddition,
)
from psasync.web.bounds import Amount, BoundedDate, CleanText, Id

# Rows of a reviewed plan beyond this are refused: no plan has that many additions.
MAX_ROWS = 500


class Schema(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


def money(value: Decimal, decimals: int = 2) -> str:
    """An amount as a decimal string with at least the currency's decimals: 12.5 → "12.50".

    More precise unit prices (usage rates such as 0.0002) keep every digit.
    """
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -decimals:
        value = value.quantize(Decimal(1).scaleb(-decimals))
    return str(value)


# Requests ---------------------------------------------------------------------------------------


class LoginRequest(Schema):
    marketplace: Annotated[CleanText, Field(min_length=1, max_length=32)]
    username: Annotated[CleanText, Field(min_length=1, max_length=300)]
    password: Annotated[CleanText, Field(min_length=1, max_length=1000)]

    def __repr__(self) -> str:  # the password never reaches a log line
        return f"LoginRequest(marketplace={self.marketplace!r}, username={self.username!r})"


class ConnectWiseSettingsRequest(Schema):
    """The site must be an https address (http only on this machine); the ids and keys travel
    in HTTP headers, so they are printable ASCII (checked with the site, docs/api.md)."""

    site_url: Annotated[CleanText, Field(min_length=1, max_length=300)]
    company_id: Annotated[CleanText, Field(min_length=1, max_length=100)]
    public_key: Annotated[CleanText, Field(min_length=1, max_length=200)]
    private_key: Annotated[CleanText, Field(min_length=1, max_length=200)]
    client_id: Annotated[CleanText, Field(min_length=1, max_length=100)]
    # A tenant uses one PSA at a time: true switches from Autotask (forgetting its settings and
    # the mappings); false while Autotask is in use is a 409.
    switch: bool = False

    def __repr__(self) -> str:  # the private key never reaches a log line
        return f"ConnectWiseSettingsRequest(site_url={self.site_url!r})"


class AutotaskSettingsRequest(Schema):
    """An Autotask API user: its name, secret and the integration's tracking code (they travel
    in HTTP headers: printable ASCII); ``zoneUrl`` omitted: found by zone discovery."""

    username: Annotated[CleanText, Field(min_length=1, max_length=256)]
    secret: Annotated[CleanText, Field(min_length=1, max_length=256)]
    integration_code: Annotated[CleanText, Field(min_length=1, max_length=256)]
    zone_url: Annotated[CleanText | None, Field(max_length=2000)] = None
    # As for ConnectWise: true switches from ConnectWise; false while it is in use is a 409.
    switch: bool = False

    def __repr__(self) -> str:  # the secret and the integration code never reach a log line
        return f"AutotaskSettingsRequest(username={self.username!r}, zone_url={self.zone_url!r})"


class ReviewedAdditionRequest(Schema):
    """One addition as the reseller confirmed it. Read-only preview fields may be sent back.

    Quantities and prices: plain-notation numbers below 10^9 with at most 6 decimal places;
    dates in the years 1900 to 2999 (:mod:`psasync.web.bounds`).
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    key: Annotated[CleanText, Field(min_length=1, max_length=100)]
    description: Annotated[CleanText, Field(max_length=1000)]
    quantity: Amount
    unit_price: Amount
    unit_cost: Amount
    effective_date: BoundedDate
    cancelled_date: BoundedDate | None = None
    bill_customer: BillCustomer
    taxable_flag: bool
    # Leave this addition out: journalled as skipped, never written.
    skip: bool = False

    def reviewed(self) -> ReviewedAddition:
        return ReviewedAddition(
            key=self.key,
            description=self.description,
            quantity=self.quantity,
            unit_price=self.unit_price,
            unit_cost=self.unit_cost,
            effective_date=self.effective_date,
            cancelled_date=self.cancelled_date,
            bill_customer=self.bill_customer,
            taxable=self.taxable_flag,
            skip=self.skip,
        )


class PlanRequest(Schema):
    agreement_id: Id
    price_source: PriceSource = PriceSource.MARKETPLACE
    additions: Annotated[list[ReviewedAdditionRequest], Field(max_length=MAX_ROWS)] | None = None

    def reviewed(self) -> list[ReviewedAddition] | None:
        return None if self.additions is None else [a.reviewed() for a in self.additions]


class CustomerMappingRequest(Schema):
    customer_id: Annotated[CleanText, Field(min_length=1, max_length=64)]
    company_id: Id


class ProductMappingRequest(Schema):
    """An MPN's recurring catalog item and, optionally, its setup-fee item: ``null`` removes
    the setup-fee item, leaving the key out keeps the one the product had."""

    mpn: Annotated[CleanText, Field(min_length=1, max_length=200)]
    catalog_item_id: Id
    setup_catalog_item_id: Id | None = None

    @property
    def names_setup_item(self) -> bool:
        return "setup_catalog_item_id" in self.model_fields_set


# A mapping PUT names at most this many rows: more customers or products than any reseller has.
MAX_MAPPINGS = 5000
CustomerMappings = Annotated[list[CustomerMappingRequest], Field(max_length=MAX_MAPPINGS)]
ProductMappings = Annotated[list[ProductMappingRequest], Field(max_length=MAX_MAPPINGS)]


# Responses: one model family for the REST API and the CLI's --json ------------------------------
# Each model is built from its service view by ``of``; FastAPI serializes it by alias (camelCase),
# and the CLI prints the same model the same way, so both answer in the same shapes.


class Reseller(Schema):
    id: str
    name: str


class LoginResponse(Schema):
    reseller: Reseller
    marketplace: str
    username: str
    csrf_token: str

    @classmethod
    def of(cls, user: UserSession) -> LoginResponse:
        return cls(
            reseller=Reseller(id=user.reseller_id, name=user.reseller_name),
            marketplace=user.marketplace,
            username=user.username,
            csrf_token=user.csrf_token,
        )


class Tile(Schema):
    """A PSA on the PSA Integrations page; ``inUse``: the PSA the tenant uses (at most one)."""

    id: str
    name: str
    state: str
    message: str | None
    site_url: str | None
    company_id: str | None
    in_use: bool
    username: str | None
    zone_url: str | None

    @classmethod
    def of(cls, tile: IntegrationTile) -> Tile:
        return cls(
            id=tile.id,
            name=tile.name,
            state=tile.state.value,
            message=tile.message,
            site_url=tile.site_url,
            company_id=tile.company_id,
            in_use=tile.in_use,
            username=tile.username,
            zone_url=tile.zone_url,
        )


class CustomerRef(Schema):
    id: str
    name: str


class TaskFields(Schema):
    """What every answer about one task says (the list's rows, the detail, a sync's task)."""

    id: int
    title: str
    order_id: str
    order_number: str
    order_type: str
    customer: CustomerRef
    subscription_id: str | None
    status: str
    created_at: dt.datetime
    error: str | None
    agreement_id: int | None
    synced_at: dt.datetime | None
    # While a sync run holds the task: until when its claim lasts without a heartbeat.
    busy_until: dt.datetime | None
    # Why an unattended run left it for review (DESIGN §8); None when nothing decided that.
    waiting_reason: str | None = None


class TaskItem(TaskFields):
    @classmethod
    def of(cls, task: TaskView) -> TaskItem:
        return cls(
            id=task.id,
            title=task.title,
            order_id=task.order_id,
            order_number=task.order_number,
            order_type=task.order_type.value,
            customer=CustomerRef(id=task.customer_id, name=task.customer_name),
            subscription_id=task.subscription_id,
            status=task.status.value,
            created_at=task.created_at,
            error=task.error,
            agreement_id=task.agreement_id,
            synced_at=task.synced_at,
            busy_until=task.busy_until,
            waiting_reason=task.waiting_reason,
        )


class MoneyOut(Schema):
    amount: str
    currency: str

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> MoneyOut:
        return cls(amount=money(amount), currency=currency)


class OrderLineOut(Schema):
    number: int
    type: str
    mpn: str
    description: str
    quantity: str
    unit_price: MoneyOut
    unit_cost: MoneyOut | None

    @classmethod
    def of(cls, line: OrderLine) -> OrderLineOut:
        return cls(
            number=line.number,
            type=line.type.value,
            mpn=line.mpn,
            description=line.description,
            quantity=str(line.quantity),
            unit_price=MoneyOut.of(line.unit_price.amount, line.unit_price.currency),
            unit_cost=(
                MoneyOut.of(line.unit_cost.amount, line.unit_cost.currency)
                if line.unit_cost
                else None
            ),
        )


class OrderOut(Schema):
    effective_date: dt.date
    last_billing_date: dt.date | None
    next_billing_date: dt.date | None
    lines: list[OrderLineOut]

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls(
            effective_date=order.effective_date,
            last_billing_date=order.last_billing_date,
            next_billing_date=order.next_billing_date,
            lines=[OrderLineOut.of(line) for line in order.lines],
        )


class TaskDetailOut(TaskFields):
    order: OrderOut

    @classmethod
    def of(cls, detail: TaskDetail) -> TaskDetailOut:
        return cls(**dict(TaskItem.of(detail.view)), order=OrderOut.of(detail.order))


class TaskPageOut(Schema):
    items: list[TaskItem]
    total: int

    @classmethod
    def of(cls, page: TaskPage) -> TaskPageOut:
        return cls(items=[TaskItem.of(task) for task in page.items], total=page.total)


class SkippedOut(Schema):
    """Something the marketplace sent that Check Changes left out, and why."""

    kind: str
    id: str
    line: int | None
    reason: str


class CheckChangesOut(Schema):
    created: int
    tasks: list[TaskItem]
    already_known: int
    pending: int
    skipped: list[SkippedOut]
    checked_from: dt.datetime
    checked_through: dt.datetime

    @classmethod
    def of(cls, result: CheckResult) -> CheckChangesOut:
        return cls(
            created=len(result.created),
            tasks=[TaskItem.of(task) for task in result.created],
            already_known=result.already_known,
            pending=result.pending,
            skipped=[
                SkippedOut(kind=item.kind.value, id=item.id, line=item.line, reason=item.reason)
                for item in result.skipped
            ],
            checked_from=result.checked_from,
            checked_through=result.checked_through,
        )


class ReasonOut(Schema):
    code: str
    message: str


class AgreementOut(Schema):
    id: int
    name: str
    eligible: bool
    reasons: list[ReasonOut]
    billing_cycle: str | None
    currency: str

    @classmethod
    def of(cls, choice: AgreementChoice) -> AgreementOut:
        agreement = choice.agreement
        return cls(
            id=agreement.id,
            name=agreement.name,
            eligible=choice.eligibility.eligible,
            reasons=[
                ReasonOut(code=reason.code.value, message=reason.message)
                for reason in choice.eligibility.reasons
            ],
            billing_cycle=agreement.billing_cycle.value if agreement.billing_cycle else None,
            currency=agreement.currency.code,
        )


class ProductRefOut(Schema):
    id: int
    identifier: str


class AdditionOut(Schema):
    action: str
    kind: str
    key: str
    addition_id: int | None
    product: ProductRefOut
    mpn: str
    description: str
    quantity: str
    unit_price: str
    unit_cost: str
    effective_date: dt.date
    cancelled_date: dt.date | None
    bill_customer: str
    taxable_flag: bool
    ext_price: str
    price_source: str
    # Where the unit price and cost came from: marketplace | existingAddition | catalog | edited.
    price_origin: str
    # Left out at review: shown, journalled as skipped, never written or billed.
    skip: bool

    @classmethod
    def of(cls, plan: Plan, action: PlannedAddition) -> AdditionOut:
        """One action of ``plan``: prices with the plan currency's decimals (or more)."""
        decimals = plan.currency.decimals
        return cls(
            action=action.action.value,
            kind=action.kind.value,
            key=action.key,
            addition_id=action.addition_id,
            product=ProductRefOut(id=action.product.id, identifier=action.product.identifier),
            mpn=action.mpn,
            description=action.description,
            quantity=str(action.quantity),
            unit_price=money(action.unit_price, decimals),
            unit_cost=money(action.unit_cost, decimals),
            effective_date=action.effective_date,
            cancelled_date=action.cancelled_date,
            bill_customer=action.bill_customer.value,
            taxable_flag=action.taxable,
            ext_price=money(plan.extended_price(action)),
            price_source=action.price_source.value,
            price_origin=action.price_origin.value,
            skip=action.skip,
        )


class RecurringOut(Schema):
    before: str
    after: str

    @classmethod
    def of(cls, before: Decimal, after: Decimal) -> RecurringOut:
        return cls(before=money(before), after=money(after))


class WarningOut(Schema):
    code: str
    message: str
    line: int | None
    blocking: bool

    @classmethod
    def of(cls, notice: Notice) -> WarningOut:
        return cls(
            code=notice.code.value,
            message=notice.message,
            line=notice.line,
            blocking=notice.blocking,
        )


class PeriodOut(Schema):
    start: dt.date
    end: dt.date


class PreviewOut(Schema):
    agreement_id: int
    currency: str
    period: PeriodOut
    additions: list[AdditionOut]
    prorated_amount: str
    # Setup fees and usage billed this period (not prorated, not recurring).
    one_time_amount: str
    recurring_amount: RecurringOut
    warnings: list[WarningOut]
    blocked: bool

    @classmethod
    def of(cls, plan: Plan) -> PreviewOut:
        return cls(
            agreement_id=plan.agreement_id,
            currency=plan.currency.code,
            period=PeriodOut(start=plan.period.start, end=plan.period.end),
            additions=[AdditionOut.of(plan, action) for action in plan.actions],
            prorated_amount=money(plan.prorated_amount),
            one_time_amount=money(plan.one_time_amount),
            recurring_amount=RecurringOut.of(
                plan.recurring_amount_before, plan.recurring_amount_after
            ),
            warnings=[WarningOut.of(notice) for notice in plan.notices],
            blocked=plan.blocked,
        )


class ActionResultOut(Schema):
    key: str
    action: str
    kind: str
    mpn: str
    outcome: str
    addition_id: int | None
    error: str | None

    @classmethod
    def of(cls, result: ActionResult) -> ActionResultOut:
        return cls(
            key=result.key,
            action=result.action.value,
            kind=result.kind,
            mpn=result.mpn,
            outcome=result.outcome.value,
            addition_id=result.addition_id,
            error=result.error,
        )


class RunEventOut(Schema):
    """What verification found or did after the run: surplus_deleted | surplus_kept | missing
    | differs | unverified."""

    kind: str
    key: str | None
    addition_id: int | None
    message: str

    @classmethod
    def of(cls, event: RunEvent) -> RunEventOut:
        return cls(
            kind=event.kind, key=event.key, addition_id=event.addition_id, message=event.message
        )


class RunOut(Schema):
    id: int
    agreement_id: int
    agreement_name: str
    resumed: bool
    actions: list[ActionResultOut]
    events: list[RunEventOut]

    @classmethod
    def of(cls, outcome: SyncOutcome) -> RunOut:
        return cls(
            id=outcome.run_id,
            agreement_id=outcome.agreement_id,
            agreement_name=outcome.agreement_name,
            resumed=outcome.resumed,
            actions=[ActionResultOut.of(result) for result in outcome.actions],
            events=[RunEventOut.of(event) for event in outcome.events],
        )


class SyncFields(Schema):
    """What every answer about one sync run says (a sync's answer, a history row)."""

    task: TaskItem
    run: RunOut
    currency: str
    prorated_amount: str
    recurring_amount: RecurringOut


class SyncOut(SyncFields):
    @classmethod
    def of(cls, outcome: SyncOutcome) -> SyncOut:
        return cls(
            task=TaskItem.of(outcome.task),
            run=RunOut.of(outcome),
            currency=outcome.currency,
            prorated_amount=money(outcome.prorated_amount),
            recurring_amount=RecurringOut.of(outcome.recurring_before, outcome.recurring_after),
        )


class CustomerMappingOut(Schema):
    customer_id: str
    customer_name: str
    company_id: int | None
    company_name: str | None
    source: str | None

    @classmethod
    def of(cls, view: CustomerMappingView) -> CustomerMappingOut:
        return cls(
            customer_id=view.customer_id,
            customer_name=view.customer_name,
            company_id=view.company_id,
            company_name=view.company_name,
            source=view.source.value if view.source else None,
        )


class ProductMappingOut(Schema):
    mpn: str
    catalog_item_id: int | None
    identifier: str | None
    source: str | None
    setup_catalog_item_id: int | None
    setup_identifier: str | None

    @classmethod
    def of(cls, view: ProductMappingView) -> ProductMappingOut:
        return cls(
            mpn=view.mpn,
            catalog_item_id=view.catalog_item_id,
            identifier=view.identifier,
            source=view.source.value if view.source else None,
            setup_catalog_item_id=view.setup_catalog_item_id,
            setup_identifier=view.setup_identifier,
        )


class HistoryItem(SyncFields):
    user: str
    outcome: str
    error: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    price_source: str

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryItem:
        run = entry.run
        return cls(
            **dict(SyncOut.of(entry.outcome)),
            user=run.user,
            outcome=run.outcome,
            error=run.error,
            started_at=run.started_at,
            finished_at=run.finished_at,
            price_source=run.price_source,
        )


class HistoryPageOut(Schema):
    items: list[HistoryItem]
    total: int

    @classmethod
    def of(cls, page: HistoryPage) -> HistoryPageOut:
        return cls(items=[HistoryItem.of(entry) for entry in page.items], total=page.total)


class ErrorBody(Schema):
    code: str
    message: str
    details: Any = None


class ErrorOut(Schema):
    error: ErrorBody

    @classmethod
    def of(cls, error: ServiceError) -> ErrorOut:
        return cls(error=ErrorBody(code=error.code, message=error.message, details=error.details))


# Automation (DESIGN §4, §7) ---------------------------------------------------------------------


class MarketplaceUserRequest(Schema):
    """The marketplace integration user: checked against the marketplace, stored encrypted."""

    username: Annotated[CleanText, Field(min_length=1, max_length=300)]
    password: Annotated[CleanText, Field(min_length=1, max_length=1000)]

    def __repr__(self) -> str:  # the password never reaches a log line
        return f"MarketplaceUserRequest(username={self.username!r})"


class ScheduleRequest(Schema):
    """``every`` null: no scheduled run; ``at`` (local HH:MM) is needed with ``1d``."""

    every: Every | None = None
    at: Annotated[CleanText, Field(max_length=100)] | None = None
    timezone: Annotated[CleanText, Field(min_length=1, max_length=100)] = "UTC"

    def change(self) -> ScheduleChange:
        return ScheduleChange(every=self.every, at=self.at, timezone=self.timezone)


class AutoSyncRequest(Schema):
    """No order types: auto-sync is off. ``maxAmount`` null: no limit."""

    order_types: Annotated[list[OrderType], Field(max_length=20)] = []
    price_source: PriceSource = PriceSource.MARKETPLACE
    allow_credits: bool = False
    max_amount: Amount | None = None

    def policy(self) -> AutoSyncPolicy:
        return AutoSyncPolicy(
            order_types=frozenset(self.order_types),
            price_source=self.price_source,
            allow_credits=self.allow_credits,
            max_amount=self.max_amount,
        )


class NotifyRequest(Schema):
    emails: Annotated[list[Annotated[CleanText, Field(max_length=400)]], Field(max_length=100)] = []
    webhook_url: Annotated[CleanText, Field(max_length=4000)] | None = None

    def change(self) -> NotifyChange:
        return NotifyChange(emails=tuple(self.emails), webhook_url=self.webhook_url)


class AutomationRequest(Schema):
    """Each part present is changed (``null``: turned off or emptied); an absent part is kept.
    ``marketplaceUser``: set it (an object), forget it (``null``) or keep it (absent)."""

    schedule: ScheduleRequest | None = None
    auto_sync: AutoSyncRequest | None = None
    notify: NotifyRequest | None = None
    marketplace_user: MarketplaceUserRequest | None = None

    def change(self) -> SettingsChange:
        given = self.model_fields_set
        user = self.marketplace_user
        return SettingsChange(
            schedule=(self.schedule or ScheduleRequest()).change() if "schedule" in given else None,
            policy=(self.auto_sync or AutoSyncRequest()).policy() if "auto_sync" in given else None,
            notify=(self.notify or NotifyRequest()).change() if "notify" in given else None,
            marketplace_user=None
            if "marketplace_user" not in given
            else MarketplaceUserChange(
                username=user.username if user else None,
                password=user.password if user else None,
            ),
        )


class MarketplaceUserOut(Schema):
    """Who the integration user is and who set it, when; never its password."""

    username: str
    configured_at: dt.datetime
    configured_by: str

    @classmethod
    def of(cls, user: IntegrationUserView) -> MarketplaceUserOut:
        return cls(
            username=user.username,
            configured_at=user.configured_at,
            configured_by=user.configured_by,
        )


class ScheduleOut(Schema):
    every: str | None
    at: str | None
    timezone: str

    @classmethod
    def of(cls, settings: AutomationSettings) -> ScheduleOut:
        return cls(
            every=settings.every.value if settings.every else None,
            at=settings.at.strftime("%H:%M") if settings.at else None,
            timezone=settings.timezone,
        )


class AutoSyncOut(Schema):
    order_types: list[str]
    price_source: str
    allow_credits: bool
    max_amount: str | None

    @classmethod
    def of(cls, policy: AutoSyncPolicy) -> AutoSyncOut:
        return cls(
            order_types=sorted(order_type.value for order_type in policy.order_types),
            price_source=policy.price_source.value,
            allow_credits=policy.allow_credits,
            max_amount=money(policy.max_amount) if policy.max_amount is not None else None,
        )


class NotifyOut(Schema):
    emails: list[str]
    webhook_url: str | None

    @classmethod
    def of(cls, settings: AutomationSettings) -> NotifyOut:
        return cls(emails=list(settings.emails), webhook_url=settings.webhook_url)


class LastRunOut(Schema):
    """The latest unattended run: its job, and the counts of what it did once it ended."""

    job_id: int
    trigger: str | None
    status: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    counts: dict[str, int] | None
    skipped: str | None
    error: str | None

    @classmethod
    def of(cls, job: JobView) -> LastRunOut:
        # The run's result is what the unattended run recorded (services.unattended): read
        # leniently, so a result of an older shape shows no counts rather than failing.
        result = job.result or {}
        counts = result.get("counts")
        return cls(
            job_id=job.id,
            trigger=job.params.get("trigger"),
            status=job.status.value,
            started_at=job.started_at,
            finished_at=job.finished_at,
            counts=counts if isinstance(counts, dict) else None,
            skipped=result.get("skipped"),
            error=job.error,
        )


class AutomationOut(Schema):
    """The automation settings (DESIGN §4); the integration user's password is never part of
    them."""

    schedule: ScheduleOut
    auto_sync: AutoSyncOut
    notify: NotifyOut
    marketplace_user: MarketplaceUserOut | None
    last_run: LastRunOut | None
    next_run: dt.datetime | None

    @classmethod
    def of(cls, settings: AutomationSettings, last: JobView | None = None) -> AutomationOut:
        user = settings.marketplace_user
        return cls(
            schedule=ScheduleOut.of(settings),
            auto_sync=AutoSyncOut.of(settings.policy),
            notify=NotifyOut.of(settings),
            marketplace_user=None if user is None else MarketplaceUserOut.of(user),
            last_run=None if last is None else LastRunOut.of(last),
            next_run=settings.next_run,
        )
