"""The schedule of unattended runs (DESIGN §8): each minute, every tenant whose slot has begun
gets its ``automation`` job.

Procrastinate defers this periodic task once per minute across all workers (its timestamp is
unique in the queue), and :func:`~psasync.services.unattended.defer_due_runs` claims each
tenant's slot in psasync's own table before queueing, so however many workers, repeated
deferrals or retries there are, a tenant gets one run per slot: at most one waiting (queueing
lock) and one running (lock) per tenant.
"""

from __future__ import annotations

import datetime as dt
import logging

import procrastinate

from psasync.jobs.app import periodic_task
from psasync.services.context import Services
from psasync.services.unattended import defer_due_runs

log = logging.getLogger(__name__)


@periodic_task(cron="* * * * *", name="defer_automation", pass_context=True)
async def defer_automation(context: procrastinate.JobContext, timestamp: int) -> None:
    """Queue the run of every tenant due at ``timestamp`` (the minute Procrastinate deferred
    this for: the schedule's "now", so a late worker still defers that minute's slots)."""
    services: Services = context.additional_context["services"]
    await defer_scheduled(services, timestamp)


async def defer_scheduled(services: Services, timestamp: int) -> list[int]:
    """The periodic task's body: the job ids queued for the minute ``timestamp`` (seconds
    since the epoch)."""
    now = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    queued = await defer_due_runs(services, now)
    if queued:
        log.info("queued %s scheduled run(s) for %s", len(queued), now.isoformat())
    return queued
