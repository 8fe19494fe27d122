"""How the operator commands show their results: Rich tables for people (errors and progress
on stderr), and for programs JSON in the REST API's own response models (``web.schemas``'s
``*Out`` models, serialized as the API serializes them)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from pydantic import BaseModel, SecretStr
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from psasync.config import MarketplaceSettings, Settings, hide_url_password
from psasync.entrypoints.cli.common import UsageProblem
from psasync.services import ServiceError
from psasync.services.bulk_sync import BulkSyncProgress, BulkSyncResult, Result, SkipReason, TaskRun
from psasync.services.check_changes import CheckResult
from psasync.services.jobs import JobView
from psasync.services.sync import SyncOutcome
from psasync.services.tasks import TaskPage
from psasync.web.schemas import Schema, SyncOut, TaskItem

RESULT_STYLE = {Result.SYNCED: "green", Result.SKIPPED: "yellow", Result.FAILED: "red"}
STATUS_STYLE = {"new": "cyan", "synced": "green", "failed": "red", "ignored": "dim"}


def print_json(model: BaseModel) -> None:
    """A response model as plain JSON on stdout (no Rich markup or wrapping), for programs:
    serialized as FastAPI serializes the API's answers (JSON mode, by alias: camelCase names,
    ISO dates, amounts as strings), so a command prints what the API answers."""
    typer.echo(model.model_dump_json(by_alias=True, indent=2))


def show_service_error(console: Console, error: ServiceError) -> None:
    console.print(f"[red]Error:[/red] {escape(error.message)} [dim]({escape(error.code)})[/dim]")
    for line in _detail_lines(error.details):
        console.print(f"  • {escape(line)}")


def _detail_lines(details: Any) -> list[str]:
    """Reasons, field errors and warnings one per line; other details as compact JSON."""
    if not details:
        return []
    if isinstance(details, dict):
        listed = [
            item["message"]
            for value in details.values()
            if isinstance(value, list)
            for item in value
            if isinstance(item, dict) and "message" in item
        ]
        if listed:
            return listed
    return [json.dumps(details, default=str)]


def show_usage_problem(console: Console, problem: UsageProblem) -> None:
    console.print(f"[red]Error:[/red] {escape(problem.message)}")
    if problem.hint:
        console.print(f"  {escape(problem.hint)}")


def config_rows(settings: Settings) -> list[tuple[str, str]]:
    """Every setting as (name, shown value), secrets hidden: a secret is only "set" or
    "not set", and a password inside any URL (the database's, a mail server's) is ``***``.

    Settings are listed from the model, so a new one shows without touching this function.
    """
    rows: list[tuple[str, str]] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if name == "marketplaces":
            rows.extend(_marketplace_rows(value))
        else:
            rows.append((name, _shown(value)))
    return rows


def _marketplace_rows(marketplaces: Sequence[MarketplaceSettings]) -> list[tuple[str, str]]:
    if not marketplaces:
        return [("marketplaces", "[yellow]none configured[/yellow]")]
    return [
        (f"marketplace {m.code}", escape(f"{m.name} — {hide_url_password(str(m.url))}"))
        for m in marketplaces
    ]


def _shown(value: Any) -> str:
    if isinstance(value, SecretStr):
        return "set"
    if value is None:
        return "[yellow]not set[/yellow]"
    return escape(hide_url_password(str(value)))


def _table(*columns: str, title: str | None = None) -> Table:
    """A table whose first columns (ids, numbers, dates, states) never wrap; the last one does."""
    table = Table(title=title)
    for column in columns[:-1]:
        table.add_column(column, no_wrap=True)
    table.add_column(columns[-1], ratio=1)
    return table


def show_check(console: Console, result: CheckResult) -> None:
    console.print(
        f"Check Changes: [bold]{len(result.created)}[/bold] created, "
        f"{result.already_known} already known, {result.pending} pending "
        f"(orders from {result.checked_from:%Y-%m-%d %H:%M} to "
        f"{result.checked_through:%Y-%m-%d %H:%M} UTC)."
    )
    for item in result.skipped:
        line = f", line {item.line}" if item.line else ""
        console.print(
            f"  [yellow]left out[/yellow] {item.kind.value} {item.id}{line}: {escape(item.reason)}"
        )
    if result.created:
        table = _table("Task", "Order number", "Date", "Title", title="New tasks")
        for task in result.created:
            table.add_row(
                str(task.id), task.order_number, f"{task.created_at:%Y-%m-%d}", escape(task.title)
            )
        console.print(table)


def show_tasks(console: Console, page: TaskPage, *, offset: int) -> None:
    if not page.items:
        console.print(f"No tasks match ({page.total} in all with these filters).")
        return
    table = _table("Task", "Order number", "Date", "Status", "Title")
    for task in page.items:
        style = STATUS_STYLE.get(task.status.value, "default")
        title = escape(task.title)
        if task.agreement_id:
            title += f" [dim]→ agreement #{task.agreement_id}[/dim]"
        if task.error:
            title += f"\n[red]{escape(task.error)}[/red]"
        table.add_row(
            str(task.id),
            task.order_number,
            f"{task.created_at:%Y-%m-%d}",
            f"[{style}]{task.status.value}[/{style}]",
            title,
        )
    console.print(table)
    console.print(f"Tasks {offset + 1}–{offset + len(page.items)} of {page.total}.")


def show_sync(console: Console, result: BulkSyncResult) -> None:
    table = _table("Task", "Order number", "Result", "Customer / what happened")
    for run in result.runs:
        style = RESULT_STYLE[run.result]
        table.add_row(
            str(run.task_id),
            run.task.order_number if run.task else "",
            f"[{style}]{run.result.value}[/{style}]",
            _what_happened(run),
        )
    console.print(table)
    if len(result.runs) == 1 and result.runs[0].outcome is not None:
        console.print(_actions_table(result.runs[0].outcome))
    console.print(
        f"[green]{result.count(Result.SYNCED)} synced[/green], "
        f"[yellow]{result.count(Result.SKIPPED)} skipped[/yellow], "
        f"[red]{result.count(Result.FAILED)} failed[/red]."
    )


def run_message(run: TaskRun) -> str:
    """What happened to the task, with what to do next where the command line can help."""
    if run.skip_reason is SkipReason.SEVERAL_ELIGIBLE_AGREEMENTS:
        return f"{run.message}: sync it with --agreement"
    return run.message


def _what_happened(run: TaskRun) -> str:
    who = escape(f"{run.task.customer_name} — {run.task.order_type.label}") if run.task else ""
    outcome = run.outcome
    if outcome is None:
        code = f" [dim]({escape(run.code)})[/dim]" if run.code and not run.skip_reason else ""
        return f"{who}\n{escape(run_message(run))}{code}".strip()
    return (
        f"{who}\n→ #{outcome.agreement_id} {escape(outcome.agreement_name)}: "
        f"{escape(run.message)}; prorated {outcome.prorated_amount} {outcome.currency}; "
        f"recurring {outcome.recurring_before} → {outcome.recurring_after}"
    )


def _actions_table(outcome: SyncOutcome) -> Table:
    table = Table(
        "Action", "Kind", "MPN", "Outcome", "Addition", title=f"Changes to {outcome.agreement_name}"
    )
    for action in outcome.actions:
        table.add_row(
            action.action.value,
            action.kind,
            escape(action.mpn),
            action.outcome.value,
            str(action.addition_id or ""),
        )
    return table


@contextmanager
def progress_bar(
    console: Console, *, label: str, enabled: bool, show_from: int
) -> Iterator[Callable[[BulkSyncProgress], None]]:
    """The callback a bulk sync reports its progress to: a progress bar, shown (when
    ``enabled``) once the sync says it has at least ``show_from`` tasks; gone at the end."""
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    bar: list[TaskID] = []

    def report(update: BulkSyncProgress) -> None:
        if not enabled or update.total < show_from:
            return
        if not bar:
            progress.start()
            bar.append(progress.add_task(label, total=update.total))
        progress.update(bar[0], completed=update.done)

    try:
        yield report
    finally:
        progress.stop()


def show_job_queued(console: Console, job: JobView) -> None:
    total = len(job.params.get("taskIds") or ())
    console.print(
        f"Queued bulk sync job [bold]{job.id}[/bold] ({total} task{'s' if total != 1 else ''}); "
        "following its progress (Ctrl+C stops following, not the job)."
    )


@contextmanager
def job_progress_bar(console: Console, *, enabled: bool) -> Iterator[Callable[[JobView], None]]:
    """The callback a followed job's state goes to: a progress bar of its tasks (when
    ``enabled``), gone when the job ends."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    bar: list[TaskID] = []

    def report(job: JobView) -> None:
        if not enabled:
            return
        if not bar:
            progress.start()
            bar.append(progress.add_task("Queued", total=None))
        description = "Syncing" if job.status.value == "running" else job.status.value.capitalize()
        progress.update(
            bar[0], description=description, completed=job.progress_done, total=job.progress_total
        )

    try:
        yield report
    finally:
        progress.stop()


def job_failed(job: JobView) -> bool:
    """Whether the job failed, or any of its tasks did."""
    return job.status.value != "succeeded" or bool((job.result or {}).get("failed"))


def show_bulk_job(console: Console, job: JobView) -> None:
    """A finished bulk sync job: each task's outcome, then the counts (or why it failed)."""
    if job.error:
        console.print(f"[red]Job {job.id} {job.status.value}:[/red] {escape(job.error)}")
        return
    result = job.result or {}
    tasks = result.get("tasks", [])
    if tasks:
        table = _table("Task", "Order number", "Result", "Customer / what happened")
        for task in tasks:
            style = RESULT_STYLE.get(Result(task["result"]), "default")
            who = escape(task.get("customer") or "")
            table.add_row(
                str(task["taskId"]),
                task.get("orderNumber") or "",
                f"[{style}]{task['result']}[/{style}]",
                f"{who}\n{escape(task.get('message') or '')}".strip(),
            )
        console.print(table)
    console.print(
        f"Job {job.id} {job.status.value}: [green]{result.get('synced', 0)} synced[/green], "
        f"[yellow]{result.get('skipped', 0)} skipped[/yellow], "
        f"[red]{result.get('failed', 0)} failed[/red]."
    )


# JSON -------------------------------------------------------------------------------------------
# The commands print the REST API's own response models (``web.schemas``); only the bulk sync,
# which the API runs as a job instead, has models of its own here.


class TaskRunOut(Schema):
    """What a bulk sync did with one task; ``sync`` is the API's sync answer when it synced."""

    task_id: int
    result: str
    task: TaskItem | None
    agreement_id: int | None
    message: str
    code: str | None
    details: Any = None
    sync: SyncOut | None

    @classmethod
    def of(cls, run: TaskRun) -> TaskRunOut:
        return cls(
            task_id=run.task_id,
            result=run.result.value,
            task=TaskItem.of(run.task) if run.task else None,
            agreement_id=run.agreement_id,
            message=run_message(run),
            code=run.code,
            details=run.details,
            sync=SyncOut.of(run.outcome) if run.outcome else None,
        )


class BulkSyncOut(Schema):
    """``psasync sync --json``: the counts, then every task's run in the order given."""

    synced: int
    skipped: int
    failed: int
    results: list[TaskRunOut]

    @classmethod
    def of(cls, result: BulkSyncResult) -> BulkSyncOut:
        return cls(
            synced=result.count(Result.SYNCED),
            skipped=result.count(Result.SKIPPED),
            failed=result.count(Result.FAILED),
            results=[TaskRunOut.of(run) for run in result.runs],
        )
