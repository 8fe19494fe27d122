"""The ConnectWise emulator's control endpoints, served under ``/_sandbox/connectwise``.

``PUT /invoiced {"agreementId": N, "through": "YYYY-MM-DD"}`` stands in for the vendor's invoice
run: the agreement counts as invoiced up to and including ``through`` (its ``nextInvoiceDate``
becomes the day after), so writes touching that span are refused (:mod:`.invoicing`).
``GET /invoiced`` lists the agreements marked so far. Like the other control endpoints these
answer FastAPI's ``{"detail": …}``, not the vendor's error body: they are not the vendor's API.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from psasync.sandbox.connectwise.fixture import Day
from psasync.sandbox.connectwise.invoicing import next_invoice_date
from psasync.sandbox.connectwise.state import ConnectWiseState


class InvoicedPeriod(BaseModel):
    """An agreement invoiced through a day (inclusive)."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    agreement_id: int
    through: Day


def control_router(state: ConnectWiseState) -> APIRouter:
    """The routes that change or show what the emulator holds outside the vendor's API."""
    router = APIRouter()

    @router.get("/invoiced")
    def list_invoiced() -> list[dict[str, Any]]:
        return [
            _period_json(agreement_id, through)
            for agreement_id, through in sorted(state.invoiced().items())
        ]

    @router.put("/invoiced")
    async def mark_invoiced(request: Request) -> dict[str, Any]:
        period = _read_period(await request.body())
        if period.agreement_id not in state.agreements:
            raise HTTPException(404, detail=f"agreement {period.agreement_id} does not exist")
        state.mark_invoiced(period.agreement_id, period.through)
        return _period_json(period.agreement_id, period.through)

    return router


def _read_period(body: bytes) -> InvoicedPeriod:
    # Read by hand rather than as a typed parameter: a bad body is a 400 here, not FastAPI's 422.
    try:
        return InvoicedPeriod.model_validate(json.loads(body or b"null"))
    except json.JSONDecodeError:
        raise HTTPException(400, detail="the body is not JSON") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise HTTPException(400, detail=problems) from None


def _period_json(agreement_id: int, through: dt.date) -> dict[str, Any]:
    following = next_invoice_date(through)
    return {
        "agreementId": agreement_id,
        "through": through.isoformat(),
        "nextInvoiceDate": following.isoformat() if following else None,
    }
