"""The Autotask emulator's control endpoints, served under ``/_sandbox/autotask``.

- ``PUT /posted {"contractID": N, "through": "YYYY-MM-DD"}`` stands in for the vendor's Approve
  and Post: the contract's periods up to and including the one holding ``through`` are posted
  (their units rows carry ``approveAndPostDate``; adjustments and charges dated inside them are
  refused). ``GET /posted`` lists what is marked.
- ``GET /billing?contractID=N`` → ``{"items": [...], "total": "…"}``: what Autotask bills for the
  contract, line by line (recurring, prorated, charges), optionally ``from``/``to`` (inclusive
  days) to read one period.
- ``GET /adjustments``: every adjustment received (the vendor never serves them).
- ``GET|PUT /limits {"threadLimit", "requestThreshold"}``; ``DELETE /limits/requests`` empties
  the rolling hour's request count.

Like the other control endpoints these answer FastAPI's ``{"detail": …}``, not the vendor's
error body: they are not the vendor's API.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from psasync.sandbox.autotask.fixture import Day
from psasync.sandbox.autotask.limits import RequestLimits
from psasync.sandbox.autotask.state import AutotaskState


class PostedPeriod(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    contract_id: int = Field(alias="contractID")
    through: Day


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    thread_limit: int | None = Field(default=None, ge=1, le=100, alias="threadLimit")
    request_threshold: int | None = Field(default=None, ge=1, alias="requestThreshold")


def control_router(state: AutotaskState, limits: RequestLimits) -> APIRouter:
    router = APIRouter()

    @router.get("/posted")
    def list_posted() -> list[dict[str, Any]]:
        return [_posted_json(state, c, d) for c, d in sorted(state.posted().items())]

    @router.put("/posted")
    async def mark_posted(request: Request) -> dict[str, Any]:
        period = _read(PostedPeriod, await request.body())
        if period.contract_id not in state.contracts:
            raise HTTPException(404, detail=f"contract {period.contract_id} does not exist")
        state.mark_posted(period.contract_id, period.through)
        return _posted_json(state, period.contract_id, period.through)

    @router.get("/billing")
    def billing(
        contract_id: Annotated[int, Query(alias="contractID")],
        start: Annotated[dt.date | None, Query(alias="from")] = None,
        end: Annotated[dt.date | None, Query(alias="to")] = None,
    ) -> dict[str, Any]:
        if contract_id not in state.contracts:
            raise HTTPException(404, detail=f"contract {contract_id} does not exist")
        items = [
            item
            for item in state.billing(contract_id)
            if (start is None or dt.date.fromisoformat(str(item["date"])) >= start)
            and (end is None or dt.date.fromisoformat(str(item["date"])) <= end)
        ]
        total = sum((Decimal(str(item["amount"])) for item in items), Decimal(0))
        return {"contractID": contract_id, "items": items, "total": str(total)}

    @router.get("/adjustments")
    def adjustments() -> list[dict[str, Any]]:
        return state.adjustments()

    @router.get("/limits")
    def read_limits() -> dict[str, Any]:
        return _limits_json(limits)

    @router.put("/limits")
    async def switch_limits(request: Request) -> dict[str, Any]:
        wanted = _read(Limits, await request.body())
        limits.configure(thread_limit=wanted.thread_limit, threshold=wanted.request_threshold)
        return _limits_json(limits)

    @router.delete("/limits/requests", status_code=204)
    def reset_requests() -> None:
        limits.reset_budget()

    return router


M = TypeVar("M", bound=BaseModel)


def _read(model: type[M], body: bytes) -> M:
    # Read by hand rather than as a typed parameter: a bad body is a 400 here, not FastAPI's 422.
    try:
        return model.model_validate(json.loads(body or b"null"))
    except json.JSONDecodeError:
        raise HTTPException(400, detail="the body is not JSON") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise HTTPException(400, detail=problems) from None


def _posted_json(state: AutotaskState, contract_id: int, through: dt.date) -> dict[str, Any]:
    return {
        "contractID": contract_id,
        "through": through.isoformat(),
        # The first day outside a posted period (posting a day posts its whole period).
        "firstOpenDay": state.posted_until(contract_id).isoformat(),
    }


def _limits_json(limits: RequestLimits) -> dict[str, Any]:
    return {
        "threadLimit": limits.settings.thread_limit,
        "requestThreshold": limits.settings.request_threshold,
        "requestsThisHour": limits.used(),
        "inFlight": [
            {"integrationCode": code, "endpoint": endpoint, "count": n}
            for (code, endpoint), n in sorted(limits.in_flight().items())
        ],
        "threadLimitRefusals": limits.refused_threads,
    }
