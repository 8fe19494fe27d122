"""The comparison: one customer's marketplace subscriptions against its ConnectWise additions.

What bills on D (the next period start) is compared: the marketplace's active subscription
products, and the additions of mapped catalog items that are ongoing on D (effective on or
before D, not cancelled before it). Each subscription product is paired with at most one
addition on an Active agreement of its company, closest fit first (see ``_pair``); every other
ongoing addition of the item on such an agreement is a surplus copy (``duplicate``) of the
product whose terms its agreement fits, or an ``orphan`` when no product is in its currency.
Additions on cancelled or inactive agreements bill nothing: one stands for a product that has
no other addition (``cancelledAgreement``), the rest are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from psasync.domain.agreements import Agreement
from psasync.domain.eligibility import SubscriptionTerms, check_eligibility
from psasync.domain.keys import written_differences
from psasync.domain.plan import PlannedAddition, PriceSource
from psasync.domain.reconciliation.amounts import item_id, monthly, to_decimal
from psasync.domain.reconciliation.fixes import FixContext, bill_fix, end_fix, restore_fix
from psasync.domain.reconciliation.model import (
    AgreementLines,
    CustomerSnapshot,
    Fix,
    ItemKind,
    MarketplaceProduct,
    MarketplaceSubscription,
    ReconciliationItem,
    ReconciliationOptions,
)
from psasync.domain.reconciliation.pairing import Held, Line, pair, same_currency, same_terms
from psasync.domain.reconciliation.pricing import wanted_for
from psasync.domain.reconciliation.sides import marketplace_side, psa_side

# Written fields a hand edit is reported for (quantity and unit price are compared with the
# marketplace instead; psasync's own later cancels move cancelledDate, so it is not compared).
_EDITABLE = ("unitCost", "billCustomer", "taxableFlag", "invoiceDescription")
_REPORTED = (*_EDITABLE, "product", "effectiveDate", "description")
_KIND_ORDER = list(ItemKind)


def reconcile(
    customers: Iterable[CustomerSnapshot], *, options: ReconciliationOptions
) -> tuple[ReconciliationItem, ...]:
    """Every customer's items, customer by customer in the order given."""
    return tuple(item for c in customers for item in reconcile_customer(c, options=options))


def reconcile_customer(
    customer: CustomerSnapshot, *, options: ReconciliationOptions
) -> tuple[ReconciliationItem, ...]:
    """One customer's items, in kind order, then by product, subscription and agreement."""
    if customer.company_id is None:
        return (_unmapped_customer(customer, options),)
    found = _Comparison(customer=customer, options=options).items()
    return tuple(sorted(found, key=_report_order))


def _report_order(item: ReconciliationItem) -> tuple[int, str, str, int, str]:
    return (
        _KIND_ORDER.index(item.kind),
        item.mpn or "",
        item.marketplace.subscription_id if item.marketplace else "",
        item.psa.agreement_id if item.psa else 0,
        item.id,
    )


def _unmapped_customer(
    customer: CustomerSnapshot, options: ReconciliationOptions
) -> ReconciliationItem:
    return ReconciliationItem(
        id=item_id(customer.customer_id, ItemKind.UNMAPPED, options.as_of),
        kind=ItemKind.UNMAPPED,
        customer_id=customer.customer_id,
        customer_name=customer.customer_name,
        company_id=None,
        mpn=None,
        currency=None,
        monthly_impact=Decimal(0),
        notes=(
            f"The customer is not mapped to a company in {options.psa.vendor}: "
            "map it to reconcile it.",
        ),
    )


@dataclass(frozen=True)
class _Comparison:
    customer: CustomerSnapshot
    options: ReconciliationOptions

    # --- reading the two sides -----------------------------------------------------------------

    def items(self) -> list[ReconciliationItem]:
        lines: list[Line] = []
        found: list[ReconciliationItem] = []
        for subscription in sorted(self.customer.subscriptions, key=lambda s: s.id):
            for product in subscription.products:
                item = self.customer.catalog.get(product.mpn)
                if item is None:
                    found.append(self._unmapped_product(subscription, product))
                else:
                    lines.append(Line(subscription, product, item))
        held = self._held()
        for catalog_id in dict.fromkeys(
            [line.item.id for line in lines] + [h.addition.product.id for h in held]
        ):
            found.extend(
                self._compare_item(
                    [line for line in lines if line.item.id == catalog_id],
                    [h for h in held if h.addition.product.id == catalog_id],
                )
            )
        return found

    def _held(self) -> list[Held]:
        mapped = {item.id for item in self.customer.catalog.values()}
        held = [
            Held(lines.agreement, addition)
            for lines in self._agreements()
            for addition in lines.additions
            if addition.product.id in mapped and addition.is_ongoing_on(self.options.as_of)
        ]
        return sorted(held, key=lambda h: (h.agreement.id, h.addition.id))

    def _agreements(self) -> list[AgreementLines]:
        company = self.customer.company_id
        return [
            lines for lines in self.customer.agreements if lines.agreement.company_id == company
        ]

    # --- pairing -------------------------------------------------------------------------------

    def _compare_item(self, lines: list[Line], held: list[Held]) -> list[ReconciliationItem]:
        pool = [h for h in held if h.live]
        claims = pair(lines, pool, same_price=self._same_price)
        found = [self._claimed(lines[i], claims[i]) for i in sorted(claims)]
        dead = [h for h in held if not h.live]
        for index, line in enumerate(lines):
            if index not in claims:
                found.append(self._unclaimed(line, dead))
        found.extend(self._surplus(lines, pool))
        return [item for item in found if item is not None]

    def _same_price(self, line: Line, held: Held) -> bool:
        """Whether the addition's price is the one the line wants (always, from ConnectWise)."""
        wanted = wanted_for(line, held.agreement, held.addition, options=self.options)
        return wanted.price == held.addition.unit_price

    def _surplus(self, lines: list[Line], pool: list[Held]) -> list[ReconciliationItem]:
        copies: dict[tuple[int, int], list[Held]] = {}
        found = []
        for held in pool:
            fitting = [i for i, line in enumerate(lines) if same_currency(line, held)]
            fitting.sort(key=lambda i: not same_terms(lines[i], held))
            if fitting:
                copies.setdefault((fitting[0], held.agreement.id), []).append(held)
            else:
                found.append(self._orphan(held))
        found.extend(self._duplicate(lines[i], group) for (i, _), group in copies.items())
        return found

    # --- the kinds -----------------------------------------------------------------------------

    def _claimed(self, line: Line, held: Held) -> ReconciliationItem | None:
        wanted = wanted_for(line, held.agreement, held.addition, options=self.options)
        quantity_differs = held.addition.quantity != line.product.quantity
        price_differs = (
            self.options.price_source is PriceSource.MARKETPLACE
            and held.addition.unit_price != wanted.price
        )
        if not (quantity_differs or price_differs):
            return self._manual_edit(line, held)
        kind = ItemKind.QUANTITY if quantity_differs else ItemKind.PRICE
        ident = self._id(kind, line=line, agreement=held.agreement, held=[held])
        context = self._context(ident, held.agreement)
        fix, notes = bill_fix(context, wanted, replaced=held.addition)
        expected = monthly(line.product.quantity, wanted.price, months=wanted.months)
        return self._item(
            ident,
            kind,
            line=line,
            agreement=held.agreement,
            held=[held],
            impact=expected - held.billed(),
            fix=fix,
            notes=notes + self._edited(held),
        )

    def _unclaimed(self, line: Line, dead: list[Held]) -> ReconciliationItem:
        """Missing, or billing on a dead agreement (each dead addition stands for one line)."""
        stale = [h for h in dead if same_currency(line, h)][:1]
        for used in stale:
            dead.remove(used)
        kind = ItemKind.CANCELLED_AGREEMENT if stale else ItemKind.MISSING
        target, notes = self._eligible(line)
        shown = stale[0].agreement if stale else target
        ident = self._id(kind, line=line, agreement=shown, held=stale)
        wanted = wanted_for(line, target, None, options=self.options)
        fix = None
        if target is not None:
            fix, notes = bill_fix(self._context(ident, target), wanted, replaced=None)
        return self._item(
            ident,
            kind,
            line=line,
            agreement=shown,
            held=stale,
            impact=monthly(line.product.quantity, wanted.price, months=wanted.months),
            fix=fix,
            notes=notes,
        )

    def _duplicate(self, line: Line, copies: list[Held]) -> ReconciliationItem:
        agreement = copies[0].agreement
        ident = self._id(ItemKind.DUPLICATE, line=line, agreement=agreement, held=copies)
        context = self._context(ident, agreement)
        fix, notes = end_fix(context, [h.addition for h in copies], mpn=line.product.mpn)
        return self._item(
            ident,
            ItemKind.DUPLICATE,
            line=line,
            agreement=agreement,
            held=copies,
            impact=-sum((h.billed() for h in copies), Fraction(0)),
            fix=fix,
            notes=notes,
        )

    def _orphan(self, held: Held) -> ReconciliationItem:
        catalog = self.customer.catalog.items()
        mpn = min(m for m, item in catalog if item.id == held.addition.product.id)
        ident = self._id(ItemKind.ORPHAN, mpn=mpn, agreement=held.agreement, held=[held])
        fix, notes = end_fix(self._context(ident, held.agreement), [held.addition], mpn=mpn)
        return self._item(
            ident,
            ItemKind.ORPHAN,
            mpn=mpn,
            agreement=held.agreement,
            held=[held],
            impact=-held.billed(),
            fix=fix,
            notes=notes,
        )

    def _manual_edit(self, line: Line, held: Held) -> ReconciliationItem | None:
        written = self._written(held)
        edits = [f for f in self._edits(held) if f in _REPORTED]
        if written is None or not edits:
            return None
        ident = self._id(ItemKind.MANUAL_EDIT, line=line, agreement=held.agreement, held=[held])
        fixed = [f for f in edits if f in _EDITABLE]
        fix = None
        if fixed:
            context = self._context(ident, held.agreement)
            fix = restore_fix(context, held.addition, written, mpn=line.product.mpn)
        notes = [f"Changed by hand since psasync wrote it: {', '.join(edits)}."]
        if len(fixed) < len(edits):
            kept = ", ".join(f for f in edits if f not in _EDITABLE)
            notes.append(
                f"An update cannot put back {kept}: correct it in {self.options.psa.vendor}."
            )
        return self._item(
            ident,
            ItemKind.MANUAL_EDIT,
            line=line,
            agreement=held.agreement,
            held=[held],
            impact=Fraction(0),
            fix=fix,
            notes=tuple(notes),
        )

    def _unmapped_product(
        self, subscription: MarketplaceSubscription, product: MarketplaceProduct
    ) -> ReconciliationItem:
        customer = self.customer
        return ReconciliationItem(
            id=item_id(
                customer.customer_id,
                ItemKind.UNMAPPED,
                subscription.id,
                product.mpn,
                self.options.as_of,
            ),
            kind=ItemKind.UNMAPPED,
            customer_id=customer.customer_id,
            customer_name=customer.customer_name,
            company_id=customer.company_id,
            mpn=product.mpn,
            currency=subscription.currency,
            monthly_impact=Decimal(0),
            marketplace=marketplace_side(subscription, product),
            notes=(f"Product {product.mpn} is not mapped to {self.options.psa.catalog_item}.",),
        )

    # --- helpers -------------------------------------------------------------------------------

    def _eligible(self, line: Line) -> tuple[Agreement | None, tuple[str, ...]]:
        """The one agreement a new line goes on, or why there is none."""
        terms = SubscriptionTerms(
            company_id=self.customer.company_id,
            billing_period=line.subscription.billing_period,
            currency=line.currency,
            first_effective_date=self.options.as_of,
        )
        eligible = [
            lines.agreement
            for lines in self._agreements()
            if check_eligibility(lines.agreement, terms=terms).eligible
        ]
        if len(eligible) == 1:
            return eligible[0], ()
        if eligible:
            ids = ", ".join(f"#{a.id}" for a in eligible)
            return None, (f"No fix: several agreements could bill it ({ids}); choose one by hand.",)
        return None, (
            f"No fix: no active agreement of company #{self.customer.company_id} bills "
            f"{line.subscription.billing_period} in {line.currency}.",
        )

    def _context(self, ident: str, agreement: Agreement) -> FixContext:
        baseline = next(
            lines.additions for lines in self._agreements() if lines.agreement.id == agreement.id
        )
        return FixContext(
            item_id=ident, options=self.options, agreement=agreement, baseline=baseline
        )

    def _written(self, held: Held) -> PlannedAddition | None:
        key = held.addition.sync_key
        return self.customer.written.get(key) if key else None

    def _edits(self, held: Held) -> list[str]:
        """The fields of a psasync-written addition changed since it was written."""
        written = self._written(held)
        if written is None:
            return []
        shown = written_differences(written, held.addition)
        return [name for name in shown if name != "cancelledDate"]

    def _edited(self, held: Held) -> tuple[str, ...]:
        edits = self._edits(held)
        return (f"Changed by hand since psasync wrote it: {', '.join(edits)}.",) if edits else ()

    def _id(
        self,
        kind: ItemKind,
        *,
        line: Line | None = None,
        mpn: str | None = None,
        agreement: Agreement | None,
        held: Sequence[Held],
    ) -> str:
        return item_id(
            self.customer.customer_id,
            kind,
            line.subscription.id if line else None,
            line.product.mpn if line else mpn,
            agreement.id if agreement else None,
            ",".join(str(h.addition.id) for h in held),
            self.options.as_of,
        )

    def _item(
        self,
        ident: str,
        kind: ItemKind,
        *,
        line: Line | None = None,
        mpn: str | None = None,
        agreement: Agreement | None,
        held: Sequence[Held],
        impact: Fraction,
        fix: Fix | None,
        notes: tuple[str, ...],
    ) -> ReconciliationItem:
        customer = self.customer
        currency = line.currency if line else agreement.currency.code if agreement else None
        return ReconciliationItem(
            id=ident,
            kind=kind,
            customer_id=customer.customer_id,
            customer_name=customer.customer_name,
            company_id=customer.company_id,
            mpn=line.product.mpn if line else mpn,
            currency=currency,
            monthly_impact=to_decimal(impact),
            marketplace=marketplace_side(line.subscription, line.product) if line else None,
            psa=psa_side(agreement, held) if agreement and held else None,
            fix=fix,
            notes=notes,
        )
