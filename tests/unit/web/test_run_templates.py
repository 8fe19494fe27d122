"""The result and history templates: a delete reads as one that never billed, and what
verification found after a run is listed under it."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape
from types import SimpleNamespace

from psasync.services.sync import ActionResult, RunEvent
from psasync.services.types import Action
from psasync.store import ActionOutcome
from psasync.web.formatting import action_label, busy_until_label, price_origin_label
from psasync.web.templating import TEMPLATES


def test_actions_and_price_origins_read_in_plain_words() -> None:
    assert [action_label(a) for a in Action] == [
        "Create",
        "Update",
        "Cancel",
        "Delete (never billed)",
    ]
    assert [
        price_origin_label(o) for o in ("marketplace", "existingAddition", "catalog", "edited")
    ] == ["Cloud Marketplace", "Existing addition", "ConnectWise Catalog", "Edited"]
    assert busy_until_label(dt.datetime(2026, 11, 24, 13, 5, tzinfo=dt.UTC)) == "13:05 UTC"


def test_a_run_shows_its_deletes_and_its_events() -> None:
    outcome = SimpleNamespace(
        agreement_id=1321,
        agreement_name="Harborview - Annual",
        currency="USD",
        prorated_amount=Decimal(0),
        recurring_before=Decimal(540),
        recurring_after=Decimal(0),
        actions=(
            ActionResult(
                key="task:7:line1:delete",
                action=Action.DELETE,
                kind="recurring",
                mpn="EPP-ANNUAL",
                outcome=ActionOutcome.APPLIED,
                addition_id=9122,
                error=None,
            ),
        ),
        events=(
            RunEvent(
                kind="surplus_deleted",
                key="task:7:line1:prorate",
                addition_id=3150,
                message="A late duplicate of task:7:line1:prorate (addition 3150) was deleted",
            ),
        ),
    )
    run = SimpleNamespace(
        started_at=dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC),
        user="demo",
        outcome="succeeded",
        price_source="marketplace",
        error=None,
    )
    tile = SimpleNamespace(agreement_url=lambda _id: None)
    html = TEMPLATES.env.get_template("_runs.html").render(
        runs=[SimpleNamespace(run=run, outcome=outcome)], tile=tile
    )
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))
    assert "Delete (never billed)" in text
    assert "A late duplicate of task:7:line1:prorate (addition 3150) was deleted" in text
