"""What the PSA contract suite needs of an implementation: the port and a few facts of its data.

Every PSA adapter gets the same contract tests (``test_psa_port.py``), in the spirit of a tap
SDK's shared test factory: a second PSA is done when a ``PsaUnderTest`` for it passes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from psasync.services.ports import PsaPort


@dataclass(frozen=True)
class PsaUnderTest:
    """A PSA implementation wired to its sandbox, with the ids the tests may rely on."""

    port: PsaPort
    # The same PSA reached with credentials it refuses.
    refused: PsaPort
    company_id: int
    company_name: str
    # An active agreement of that company in `currency`, where the tests may write lines.
    agreement_id: int
    currency: str
    # A catalog item a line may bill, its MPN and a word of its description.
    item_id: int
    item_mpn: str
    item_word: str
    # A day inside the agreement's current period, on which lines may start.
    day: dt.date
    # An agreement the PSA has invoiced (posted) through some day, and that day.
    invoiced_agreement_id: int
    invoiced_through: dt.date
    # Makes the PSA act on the next create but lose its answer (a dropped connection).
    lose_next_answer: Callable[[], Awaitable[None]]
