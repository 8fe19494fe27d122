"""The PSA port: everything the use cases ask of a PSA, in domain terms (DESIGN §10).

ConnectWise is one implementation (``adapters.connectwise.psa.ConnectWisePsa``); a second PSA
is one more adapter that passes the contract suite in ``tests/contract``. Where the PSA keeps
psasync's idempotency key (a marked description, a custom field) is the adapter's business: the
use cases see it as ``Addition.sync_key`` and hand it over as ``PlannedAddition.key``.

Failures are the adapters' :class:`~psasync.adapters.http.AdapterError` family: retriable ones
already retried, :class:`~psasync.adapters.http.OutcomeUnknown` for a create whose answer never
came, :class:`~psasync.adapters.http.VendorNotFound` for an id the PSA does not know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from psasync.domain.agreements import Addition, Agreement, CatalogItem, Company
from psasync.domain.money import Currency
from psasync.domain.plan import PlannedAddition


class PsaPort(Protocol):
    """One tenant's PSA, reached with its stored credentials."""

    @property
    def vendor(self) -> str:
        """The PSA's name, for messages ("ConnectWise")."""
        ...

    async def check_credentials(self) -> None:
        """Prove the stored credentials work (an auth error when they do not)."""

    async def companies(self, *, name: str | None = None) -> list[Company]:
        """Every company, or those whose name is exactly ``name`` (case as the PSA compares)."""
        ...

    async def company(self, company_id: int) -> Company:
        """One company; ``VendorNotFound`` when there is none."""
        ...

    async def find_companies(self, text: str, *, limit: int) -> list[Company]:
        """Up to ``limit`` companies whose name or identifier contains ``text``, by name."""
        ...

    async def agreements_of(
        self, company_id: int, *, default_currency: Currency
    ) -> list[Agreement]:
        """The company's agreements with what eligibility needs (cycle, currency, dates)."""
        ...

    async def agreement(self, agreement_id: int, *, default_currency: Currency) -> Agreement:
        """One agreement; ``VendorNotFound`` when there is none."""
        ...

    async def agreements_of_companies(
        self, company_ids: Sequence[int], *, default_currency: Currency
    ) -> list[Agreement]:
        """The agreements of all these companies, read in as few calls as the PSA allows
        (reconciliation reads thousands of companies at once)."""
        ...

    async def lines(self, agreement_id: int) -> list[Addition]:
        """The agreement's lines (additions), each with psasync's key if it carries one."""
        ...

    async def lines_of(self, agreement_ids: Sequence[int]) -> dict[int, list[Addition]]:
        """The lines of each agreement, by agreement id (read concurrently, within bounds)."""
        ...

    async def find_line_by_key(self, agreement_id: int, key: str) -> Addition | None:
        """The oldest line carrying ``key``, if any (how an unknown outcome is resolved)."""
        ...

    async def catalog_item(self, item_id: int) -> CatalogItem:
        """One catalog item; ``VendorNotFound`` when there is none."""
        ...

    async def catalog_by_mpn(self, mpn: str) -> list[CatalogItem]:
        """Active catalog items with this manufacturer part number."""
        ...

    async def find_catalog_items(self, text: str, *, limit: int) -> list[CatalogItem]:
        """Up to ``limit`` active catalog items matching ``text``, by identifier."""
        ...

    async def apply(self, agreement_id: int, action: PlannedAddition) -> int:
        """Write one planned action; the id of the line it created or changed.

        A create writes ``action.key`` where the PSA keeps it and is sent once (an unknown
        outcome raises ``OutcomeUnknown``; the caller decides when to look and re-send). An
        update, cancel or delete is idempotent; deleting a line that is already gone succeeds.
        """
        ...

    async def expect(self, agreement_id: int, action: PlannedAddition) -> dict[str, str]:
        """What the PSA shows just before ``action`` is written, in its own terms (JSON-able):
        the journal keeps it so that an unknown outcome can be decided later, by this run or by
        the one that resumes it. Empty when nothing beyond the action itself is needed."""
        ...

    async def outcome(
        self, agreement_id: int, action: PlannedAddition, expected: Mapping[str, str]
    ) -> int | None:
        """After a write whose answer never came: the line's id when the PSA shows it applied,
        None when it shows it not (yet) applied. A PSA that shows neither (someone else changed
        the line) raises an ``AdapterError`` for a person to look at — never a guess."""
        ...

    async def rewrite(self, agreement_id: int, line_id: int, action: PlannedAddition) -> int:
        """Set every field the create ``action`` writes on a line that already carries its key
        (an earlier write of the same create, since changed): the line becomes the create."""
        ...

    async def remove_line(self, agreement_id: int, line_id: int) -> None:
        """Delete a line that never billed (a surplus copy of psasync's own making); a line
        that is already gone is no error."""
        ...
