"""After every sync run, read the agreement back and check it holds what the run wrote.

Exactly one addition per key the run created, with the values it wrote; each update, cancel and
delete visible on its target. A surplus copy carrying one of the run's keys can only be of
psasync's own making (a write ConnectWise applied after psasync gave up on it), has never been
invoiced, and is deleted; any other difference is reported on the run, never "fixed" by guess.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from psasync.adapters.http import AdapterError
from psasync.domain.agreements import Addition
from psasync.domain.keys import written_differences
from psasync.domain.plan import Action, PlannedAddition
from psasync.services.ports import PsaPort
from psasync.store import ActionOutcome, SyncAction, SyncEventKind

log = logging.getLogger(__name__)

_WRITTEN = frozenset({ActionOutcome.APPLIED.value, ActionOutcome.FOUND_APPLIED.value})


@dataclass(frozen=True)
class Finding:
    kind: SyncEventKind
    message: str
    key: str | None = None
    addition_id: int | None = None


async def verify_run(
    psa: PsaPort,
    *,
    agreement_id: int,
    steps: Sequence[tuple[SyncAction, PlannedAddition]],
    before_delete: Callable[[], Awaitable[None]],
) -> list[Finding]:
    """What the agreement shows against what the run wrote; surplus copies deleted on the way.

    ``before_delete`` runs before each delete (the run confirms it still owns its task).
    """
    try:
        additions = await psa.lines(agreement_id)
    except AdapterError as error:
        return [
            Finding(
                SyncEventKind.UNVERIFIED,
                f"The agreement could not be read back to verify the sync: {error.message}",
            )
        ]
    findings: list[Finding] = []
    for step, action in steps:
        if step.outcome not in _WRITTEN:
            continue
        if action.action is Action.CREATE:
            findings += await _verify_create(
                psa, agreement_id, step, action, additions, before_delete
            )
        else:
            findings += _verify_target(action, additions)
    return findings


async def _verify_create(
    psa: PsaPort,
    agreement_id: int,
    step: SyncAction,
    action: PlannedAddition,
    additions: Sequence[Addition],
    before_delete: Callable[[], Awaitable[None]],
) -> list[Finding]:
    copies = sorted((a for a in additions if a.sync_key == action.key), key=lambda a: a.id)
    expected = json.loads(step.expectation_json) if step.expectation_json else {}
    if not copies and expected:
        # A PSA that keeps no key on this kind of line (an Autotask adjustment of units) said
        # before the write what it would show after it: ask it, by the same rule that decides
        # an unknown outcome — a doubled or lost write shows there, never by key.
        return await _verify_by_expectation(psa, agreement_id, step, action, expected)
    if not copies:
        return [
            Finding(
                SyncEventKind.MISSING,
                f"{action.key}: addition {step.addition_id} is no longer on the agreement",
                key=action.key,
                addition_id=step.addition_id,
            )
        ]
    kept = next((a for a in copies if a.id == step.addition_id), copies[0])
    findings = [_differs(action, kept)] if written_differences(action, kept) else []
    for surplus in (a for a in copies if a.id != kept.id):
        await before_delete()
        findings.append(await _delete_surplus(psa, agreement_id, action.key, surplus))
    return findings


async def _verify_by_expectation(
    psa: PsaPort,
    agreement_id: int,
    step: SyncAction,
    action: PlannedAddition,
    expected: dict[str, str],
) -> list[Finding]:
    try:
        shown = await psa.outcome(agreement_id, action, expected)
    except AdapterError as error:  # neither before nor after: someone else changed it
        return [
            Finding(
                SyncEventKind.DIFFERS,
                f"{action.key}: {psa.vendor} shows neither what was there before the write nor "
                f"what it wrote ({error.message})",
                key=action.key,
                addition_id=step.addition_id,
            )
        ]
    if shown is None:
        return [
            Finding(
                SyncEventKind.MISSING,
                f"{action.key}: {psa.vendor} does not show the change written as "
                f"{step.addition_id}",
                key=action.key,
                addition_id=step.addition_id,
            )
        ]
    return []


async def _delete_surplus(psa: PsaPort, agreement_id: int, key: str, surplus: Addition) -> Finding:
    try:
        await psa.remove_line(agreement_id, surplus.id)
    except AdapterError as error:
        log.warning("surplus addition %s (%s) could not be deleted: %s", surplus.id, key, error)
        return Finding(
            SyncEventKind.SURPLUS_KEPT,
            f"{key}: a second copy, addition {surplus.id}, could not be deleted "
            f"({error.message}); delete it in {psa.vendor}",
            key=key,
            addition_id=surplus.id,
        )
    log.warning("deleted surplus addition %s carrying %s", surplus.id, key)
    return Finding(
        SyncEventKind.SURPLUS_DELETED,
        f"{key}: {psa.vendor} applied a write late and held a second copy, addition "
        f"{surplus.id}; it was deleted before it was ever invoiced",
        key=key,
        addition_id=surplus.id,
    )


def _verify_target(action: PlannedAddition, additions: Sequence[Addition]) -> list[Finding]:
    target = next((a for a in additions if a.id == action.addition_id), None)
    if action.action is Action.DELETE:
        if target is None:
            return []
        return [
            Finding(
                SyncEventKind.DIFFERS,
                f"{action.key}: addition {target.id} was deleted but is still on the agreement",
                key=action.key,
                addition_id=target.id,
            )
        ]
    if target is None:
        return [
            Finding(
                SyncEventKind.MISSING,
                f"{action.key}: addition {action.addition_id} is no longer on the agreement",
                key=action.key,
                addition_id=action.addition_id,
            )
        ]
    return [_differs(action, target)] if written_differences(action, target) else []


def _differs(action: PlannedAddition, shown: Addition) -> Finding:
    fields = ", ".join(written_differences(action, shown))
    return Finding(
        SyncEventKind.DIFFERS,
        f"{action.key}: addition {shown.id} shows other values than written ({fields})",
        key=action.key,
        addition_id=shown.id,
    )
