"""Notifications after each unattended run (DESIGN.md §8): a digest by e-mail and/or webhook.

The automation run builds a :class:`Digest` of what it did and calls :func:`notify` with the
tenant's recipients and webhook. Each channel is tried a few times with backoff and its result
recorded in the returned :class:`NotifyOutcome`; a channel that fails never raises, so a
notification can never block or undo the work it reports on.

- **E-mail** goes through the server of ``PSASYNC_SMTP_URL`` (aiosmtplib): plain text with a
  simple HTML alternative, from ``PSASYNC_MAIL_FROM``. ``smtps://`` is TLS from the first byte,
  ``?starttls=1`` requires STARTTLS, and a user and password in the URL log in. The password
  appears in no log line, outcome or error message.
- **Webhook**: a ``POST`` of :meth:`Digest.payload` as JSON, to an address checked by the rules
  of DESIGN.md §7 before any call (https, or http on loopback only), without following
  redirects. Only its origin (``https://hooks.example.com``) is logged or recorded: a webhook's
  path or query is often its secret.

Links to the tasks and the dashboard are built from ``PSASYNC_BASE_URL`` (none when unset).
docs/notifications.md documents the settings, the e-mail, the JSON and the retries.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import html
import json
import logging
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

import aiosmtplib
import httpx

from psasync import __version__
from psasync.adapters.http import RETRIABLE_STATUSES, RetryPolicy, retry_after_seconds
from psasync.adapters.outbound import OutboundUrlError, check_outbound_url, is_local_host, origin
from psasync.adapters.outbound import valid_host as _valid_host
from psasync.services.context import Services

log = logging.getLogger(__name__)

Channel = Literal["email", "webhook"]
EMAIL: Channel = "email"
WEBHOOK: Channel = "webhook"

# Each channel is tried this often; the waits between tries come from the services' retry
# policy (its sleep, so tests run instantly), capped so a notification never holds a job long.
NOTIFY_ATTEMPTS = 3
NOTIFY_BASE_DELAY = 1.0
NOTIFY_MAX_DELAY = 10.0
NOTIFY_MAX_RETRY_AFTER = 30.0
SMTP_TIMEOUT = 10.0
WEBHOOK_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
SMTP_PORT = 25
SMTPS_PORT = 465

EMAIL_NOT_CONFIGURED = "e-mail is not configured on this server (PSASYNC_SMTP_URL)"
NOTHING_CONFIGURED = "nothing to notify: no e-mail recipients and no webhook are set"
TASK_PATH = "/integrations/connectwise/tasks/{task_id}"
DASHBOARD_PATH = "/integrations/connectwise"
# What a user-facing line may hold: no line breaks (a title comes from vendor data).
MAX_LINE = 500
MAX_SUBJECT = 200
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


# The digest: what an unattended run did ----------------------------------------------------------


@dataclass(frozen=True)
class DigestTask:
    """One task in a digest. ``reason``: why it waits for review, or why it failed.

    ``task_id`` None is a failure of the run itself (Check Changes could not read the
    marketplace), which has no task to link to.
    """

    task_id: int | None
    title: str
    reason: str | None = None


@dataclass(frozen=True)
class Digest:
    """What one unattended run of a tenant did, to tell its people.

    ``tenant``: the tenant's (reseller's) name; ``ran_at``: when the run started (timezone-aware);
    ``new_tasks``: how many tasks Check Changes created; ``synced``: the tasks auto-synced;
    ``waiting``: the tasks left for review, each with its reason; ``failed``: the tasks (or
    steps) that failed, each with its error. Lists given are kept as tuples.
    """

    tenant: str
    ran_at: dt.datetime
    new_tasks: int = 0
    synced: tuple[DigestTask, ...] = ()
    waiting: tuple[DigestTask, ...] = ()
    failed: tuple[DigestTask, ...] = ()

    def __post_init__(self) -> None:
        if self.ran_at.tzinfo is None:
            raise ValueError("a digest's ran_at must be timezone-aware")
        if self.new_tasks < 0:
            raise ValueError(f"new_tasks cannot be negative ({self.new_tasks})")
        for name in ("synced", "waiting", "failed"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def counts(self) -> dict[str, int]:
        return {
            "newTasks": self.new_tasks,
            "synced": len(self.synced),
            "waiting": len(self.waiting),
            "failed": len(self.failed),
        }

    def subject(self) -> str:
        """``psasync: 3 synced, 2 need review — Northwind IT`` (one line, bounded)."""
        parts = []
        if self.synced:
            parts.append(f"{len(self.synced)} synced")
        if self.waiting:
            verb = "needs" if len(self.waiting) == 1 else "need"
            parts.append(f"{len(self.waiting)} {verb} review")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if not parts:
            parts.append(_plural(self.new_tasks, "new task") if self.new_tasks else "nothing new")
        return _line(f"psasync: {', '.join(parts)} — {self.tenant}", MAX_SUBJECT)

    def text(self, base_url: str | None) -> str:
        """The e-mail's plain text."""
        lines = [
            f"psasync — {_line(self.tenant)}",
            f"Unattended run of {_when(self.ran_at)}",
            "",
            f"Check Changes: {_plural(self.new_tasks, 'new task')}",
        ]
        sections = (
            ("Auto-synced", self.synced, None),
            ("Waiting for review", self.waiting, "Why"),
            ("Failed", self.failed, "Error"),
        )
        for heading, tasks, label in sections:
            lines.append(f"{heading}: {len(tasks)}")
            for task in tasks:
                lines.append(f"  • {_task_name(task)}")
                if label and task.reason:
                    lines.append(f"    {label}: {_line(task.reason)}")
                url = task_url(base_url, task.task_id)
                if url:
                    lines.append(f"    {url}")
        dashboard = dashboard_url(base_url)
        if dashboard:
            lines += ["", f"Dashboard: {dashboard}"]
        lines += ["", "— psasync (automation). Change who is told on the automation page."]
        return "\n".join(lines) + "\n"

    def html(self, base_url: str | None) -> str:
        """The e-mail's HTML alternative: the same content, every value escaped."""
        parts = [
            '<!DOCTYPE html><html><body style="font-family: sans-serif">',
            f"<h2>psasync — {_h(self.tenant)}</h2>",
            f"<p>Unattended run of {_h(_when(self.ran_at))}</p>",
            f"<p>Check Changes: {_h(_plural(self.new_tasks, 'new task'))}</p>",
        ]
        sections = (
            ("Auto-synced", self.synced, None),
            ("Waiting for review", self.waiting, "Why"),
            ("Failed", self.failed, "Error"),
        )
        for heading, tasks, label in sections:
            parts.append(f"<h3>{heading}: {len(tasks)}</h3>")
            if not tasks:
                continue
            parts.append("<ul>")
            for task in tasks:
                url = task_url(base_url, task.task_id)
                name = _h(_task_name(task))
                item = f'<a href="{_h(url)}">{name}</a>' if url else name
                if label and task.reason:
                    item += f"<br>{label}: {_h(_line(task.reason))}"
                parts.append(f"<li>{item}</li>")
            parts.append("</ul>")
        dashboard = dashboard_url(base_url)
        if dashboard:
            parts.append(f'<p><a href="{_h(dashboard)}">Open the dashboard</a></p>')
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"

    def payload(self, base_url: str | None) -> dict[str, Any]:
        """The webhook's JSON (docs/notifications.md)::

            {tenant, ranAt, counts: {newTasks, synced, waiting, failed},
             synced: [{taskId, title, url}], waiting: [{taskId, title, reason, url}],
             failed: [{taskId, title, error, url}], dashboardUrl}

        ``url`` and ``dashboardUrl`` are null when ``PSASYNC_BASE_URL`` is not set.
        """
        return {
            "tenant": self.tenant,
            "ranAt": _iso(self.ran_at),
            "counts": self.counts,
            "synced": [
                {"taskId": t.task_id, "title": t.title, "url": task_url(base_url, t.task_id)}
                for t in self.synced
            ],
            "waiting": [
                {
                    "taskId": t.task_id,
                    "title": t.title,
                    "reason": t.reason,
                    "url": task_url(base_url, t.task_id),
                }
                for t in self.waiting
            ],
            "failed": [
                {
                    "taskId": t.task_id,
                    "title": t.title,
                    "error": t.reason,
                    "url": task_url(base_url, t.task_id),
                }
                for t in self.failed
            ],
            "dashboardUrl": dashboard_url(base_url),
        }


def task_url(base_url: str | None, task_id: int | None) -> str | None:
    """``{base_url}/integrations/connectwise/tasks/{id}``; None without a base URL or a task."""
    if not base_url or task_id is None:
        return None
    return base_url.rstrip("/") + TASK_PATH.format(task_id=task_id)


def dashboard_url(base_url: str | None) -> str | None:
    """``{base_url}/integrations/connectwise``; None without a base URL."""
    return base_url.rstrip("/") + DASHBOARD_PATH if base_url else None


def _task_name(task: DigestTask) -> str:
    title = _line(task.title)
    return f"#{task.task_id} {title}" if task.task_id is not None else title


def _line(text: str, limit: int = MAX_LINE) -> str:
    """One line of at most ``limit`` characters: control characters (line breaks) are spaces."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _h(text: str | None) -> str:
    return html.escape(text or "", quote=True)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# What was sent ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelOutcome:
    """One channel's result. ``target``: the recipients, or the webhook's origin only.

    ``attempts`` is 0 when nothing was tried (the channel is not configured, or its address was
    refused). ``reason``: why it failed; when sent, a note (recipients the server refused).
    """

    channel: Channel
    sent: bool
    attempts: int
    target: str
    reason: str | None = None

    @property
    def status(self) -> Literal["sent", "failed"]:
        return "sent" if self.sent else "failed"

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "status": self.status,
            "attempts": self.attempts,
            "target": self.target,
            "reason": self.reason,
        }

    def describe(self) -> str:
        name = "e-mail" if self.channel == EMAIL else "webhook"
        tries = _plural(self.attempts, "attempt")
        if self.sent:
            note = f"; {self.reason}" if self.reason else ""
            return f"{name} sent to {self.target} ({tries}){note}"
        return f"{name} to {self.target} failed ({tries}): {self.reason}"


@dataclass(frozen=True)
class NotifyOutcome:
    """What :func:`notify` did, channel by channel (none: nothing was configured)."""

    channels: tuple[ChannelOutcome, ...] = ()

    @property
    def nothing_configured(self) -> bool:
        return not self.channels

    @property
    def all_sent(self) -> bool:
        """Every configured channel went out (False when none was configured)."""
        return bool(self.channels) and all(c.sent for c in self.channels)

    @property
    def failed(self) -> tuple[ChannelOutcome, ...]:
        return tuple(c for c in self.channels if not c.sent)

    def channel(self, name: Channel) -> ChannelOutcome | None:
        return next((c for c in self.channels if c.channel == name), None)

    def summary(self) -> str:
        """One line for a job's result or a log: each channel's result, or why nothing went."""
        if not self.channels:
            return NOTHING_CONFIGURED
        return "; ".join(c.describe() for c in self.channels)

    def as_json(self) -> dict[str, Any]:
        """What a job records: ``{summary, channels: [{channel, status, attempts, target,
        reason}]}``."""
        return {"summary": self.summary(), "channels": [c.as_json() for c in self.channels]}


# The use case -------------------------------------------------------------------------------------


async def notify(
    services: Services,
    *,
    tenant_id: int,
    digest: Digest,
    emails: Sequence[str],
    webhook_url: str | None,
    retry: RetryPolicy | None = None,
) -> NotifyOutcome:
    """Send ``digest`` to the tenant's ``emails`` and/or ``webhook_url``; never raises for a
    channel that fails.

    No recipients and no webhook: nothing is sent and the outcome says so. Recipients without
    ``PSASYNC_SMTP_URL`` on this server: the e-mail channel is recorded as failed with
    :data:`EMAIL_NOT_CONFIGURED`. The webhook address is checked (DESIGN.md §7) before any
    call; a refused one is recorded as failed with the reason and 0 attempts. Each channel is
    tried :data:`NOTIFY_ATTEMPTS` times (``retry`` overrides the policy; by default the
    services' own, so its ``sleep`` is used) and both channels run side by side.
    ``tenant_id`` names the tenant in the log lines.
    """
    policy = retry or dataclasses.replace(
        services.retry,
        attempts=NOTIFY_ATTEMPTS,
        base_delay=NOTIFY_BASE_DELAY,
        max_delay=NOTIFY_MAX_DELAY,
        max_retry_after=NOTIFY_MAX_RETRY_AFTER,
    )
    settings = services.settings
    recipients = [e.strip() for e in emails if e and e.strip()]
    hook = webhook_url.strip() if webhook_url else ""
    sending: list[Awaitable[ChannelOutcome]] = []
    if recipients:
        smtp = settings.smtp_url.get_secret_value() if settings.smtp_url else None
        sending.append(
            _email(
                smtp,
                digest,
                recipients=recipients,
                sender=settings.mail_from,
                base_url=settings.base_url,
                policy=policy,
            )
        )
    if hook:
        sending.append(_webhook(services.http, hook, digest, settings.base_url, policy))
    outcome = NotifyOutcome(tuple(await asyncio.gather(*sending)))
    for channel in outcome.channels:
        if channel.sent:
            log.info("tenant %s: %s", tenant_id, channel.describe())
        else:
            log.warning("tenant %s: notification not sent: %s", tenant_id, channel.describe())
    if outcome.nothing_configured:
        log.info("tenant %s: %s", tenant_id, NOTHING_CONFIGURED)
    return outcome


# Trying a channel a few times ---------------------------------------------------------------------


class _Retriable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Fatal(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _attempts(
    channel: Channel,
    target: str,
    policy: RetryPolicy,
    once: Callable[[], Awaitable[str | None]],
    *,
    secrets: Iterable[str] = (),
) -> ChannelOutcome:
    """Call ``once`` until it returns (sent, with an optional note), fails for good, or the
    attempts are spent; every reason has ``secrets`` replaced by ``***``."""
    hidden = [s for s in secrets if s]

    def scrub(text: str) -> str:
        for secret in hidden:
            text = text.replace(secret, "***")
        return _line(text)

    for attempt in range(1, policy.attempts + 1):
        try:
            note = await once()
        except _Fatal as error:
            return ChannelOutcome(channel, False, attempt, target, scrub(error.reason))
        except _Retriable as error:
            if attempt == policy.attempts:
                return ChannelOutcome(channel, False, attempt, target, scrub(error.reason))
            delay = policy.delay(attempt=attempt, retry_after=error.retry_after)
            log.warning(
                "%s to %s: attempt %d failed (%s); retrying in %.2fs",
                channel,
                target,
                attempt,
                scrub(error.reason),
                delay,
            )
            await policy.sleep(delay)
            continue
        except Exception as error:  # a notification must never break the run it reports on
            reason = f"unexpected {type(error).__name__}: {error}"
            return ChannelOutcome(channel, False, attempt, target, scrub(reason))
        return ChannelOutcome(channel, True, attempt, target, scrub(note) if note else None)
    raise AssertionError("unreachable: the loop returns on its last attempt")


# E-mail -------------------------------------------------------------------------------------------


class SmtpUrlError(ValueError):
    """``PSASYNC_SMTP_URL`` cannot be used; the message never repeats the URL (its password)."""


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to send mail, from ``PSASYNC_SMTP_URL`` (:func:`smtp_server`).

    ``use_tls``: TLS from the first byte (``smtps://``); ``start_tls``: True requires STARTTLS,
    False never uses it, None upgrades when the server offers it.
    """

    host: str
    port: int
    use_tls: bool = False
    start_tls: bool | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def smtp_server(url: str) -> SmtpServer:
    """Parse ``smtp://[user[:password]@]host[:port][?starttls=1]`` or ``smtps://…``.

    Ports default to 25 (smtp) and 465 (smtps). A password is refused over a connection that
    may stay unencrypted (plain ``smtp://`` to another machine without ``?starttls=1``).
    Raises :class:`SmtpUrlError` saying what is wrong, without the URL.
    """
    where = "PSASYNC_SMTP_URL"
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise SmtpUrlError(f"{where} has an invalid host or port") from None
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise SmtpUrlError(f"{where} must start with smtp:// or smtps://")
    host = parts.hostname or ""
    if not _valid_host(host) or port == 0:
        raise SmtpUrlError(f"{where} names no valid host")
    if parts.path not in ("", "/") or parts.fragment:
        raise SmtpUrlError(f"{where} is smtp://[user:password@]host[:port][?starttls=1], no path")
    start_tls: bool | None = None
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name.lower() != "starttls":
            # Not named: whatever was typed there may be the password.
            raise SmtpUrlError(f"{where} has an unknown parameter (the one known is starttls)")
        if value.lower() in _TRUE:
            start_tls = True
        elif value.lower() in _FALSE:
            start_tls = False
        else:
            raise SmtpUrlError(f"{where}: starttls must be 1 or 0")
    use_tls = scheme == "smtps"
    if use_tls and start_tls:
        raise SmtpUrlError(f"{where}: smtps:// is TLS already; drop ?starttls=1")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password and not username:
        raise SmtpUrlError(f"{where} has a password without a user name")
    if password and not (use_tls or start_tls or is_local_host(host)):
        raise SmtpUrlError(
            f"{where} carries a password but no encryption: use smtps:// or add ?starttls=1, "
            "so the password does not cross the network in clear"
        )
    return SmtpServer(
        host=host,
        port=port or (SMTPS_PORT if use_tls else SMTP_PORT),
        use_tls=use_tls,
        start_tls=start_tls,
        username=username,
        password=password,
    )


def email_message(
    digest: Digest, *, sender: str, recipients: Sequence[str], base_url: str | None
) -> EmailMessage:
    """The digest as a message: plain text plus an HTML alternative."""
    message = EmailMessage()
    message["Subject"] = digest.subject()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    # The domain is given: make_msgid would otherwise ask the DNS for this machine's name.
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(digest.text(base_url))
    message.add_alternative(digest.html(base_url), subtype="html")
    return message


def _recipients(emails: Iterable[str]) -> tuple[list[str], list[str]]:
    """(addresses to send to, entries that are no e-mail address), in order, without repeats."""
    valid: list[str] = []
    invalid: list[str] = []
    for entry in emails:
        name, address = parseaddr(entry)
        local, _, domain = address.rpartition("@")
        ok = (
            bool(local and domain)
            and len(address) <= 254
            and address.isprintable()
            and not any(c.isspace() for c in address)
            and entry.isprintable()
        )
        target = valid if ok else invalid
        value = address if ok else _line(entry, 100)
        if value not in target:
            target.append(value)
    return valid, invalid


async def _email(
    smtp_url: str | None,
    digest: Digest,
    *,
    recipients: Sequence[str],
    sender: str,
    base_url: str | None,
    policy: RetryPolicy,
) -> ChannelOutcome:
    valid, invalid = _recipients(recipients)
    target = ", ".join(valid or invalid)
    if smtp_url is None:
        return ChannelOutcome(EMAIL, False, 0, target, EMAIL_NOT_CONFIGURED)
    try:
        server = smtp_server(smtp_url)
    except SmtpUrlError as error:
        return ChannelOutcome(EMAIL, False, 0, target, str(error))
    if not valid:
        return ChannelOutcome(EMAIL, False, 0, target, "no valid e-mail address to send to")
    try:
        message = email_message(digest, sender=sender, recipients=valid, base_url=base_url)
    except (ValueError, TypeError) as error:
        return ChannelOutcome(EMAIL, False, 0, target, f"the message cannot be built: {error}")
    skipped = f"not an e-mail address: {', '.join(invalid)}" if invalid else None

    async def once() -> str | None:
        refused = await _send_mail(server, message, sender=parseaddr(sender)[1], to=valid)
        notes = [n for n in (skipped, refused) if n]
        return "; ".join(notes) or None

    secrets = [server.password] if server.password else []
    return await _attempts(EMAIL, target, policy, once, secrets=secrets)


async def _send_mail(
    server: SmtpServer, message: EmailMessage, *, sender: str, to: Sequence[str]
) -> str | None:
    """One try; a note naming recipients the server refused (others got it), or None."""
    where = f"the mail server {server.address}"
    try:
        refused, _ = await aiosmtplib.send(
            message,
            sender=sender,
            recipients=list(to),
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.use_tls,
            start_tls=server.start_tls,
            timeout=SMTP_TIMEOUT,
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        listed = ", ".join(f"{r.recipient} ({r.code} {r.message})" for r in error.recipients)
        raise _Fatal(f"{where} refused every recipient: {listed}") from error
    except aiosmtplib.SMTPAuthenticationError as error:
        raise _Fatal(f"{where} refused the login ({error.code} {error.message})") from error
    except aiosmtplib.SMTPResponseException as error:
        # 4xx: try again later (greylisting, busy); 5xx: permanent.
        reason = f"{where} answered {error.code} {error.message}"
        if 400 <= error.code < 500:
            raise _Retriable(reason) from error
        raise _Fatal(reason) from error
    except ssl.SSLError as error:
        raise _Fatal(f"TLS with {where} failed: {error}") from error
    except OSError as error:  # cannot connect, dropped, timed out
        raise _Retriable(f"{where} is unreachable: {type(error).__name__}: {error}") from error
    except aiosmtplib.SMTPException as error:  # STARTTLS or AUTH not offered, …
        raise _Fatal(f"{where}: {error}") from error
    if refused:
        listed = ", ".join(f"{r} ({answer.code} {answer.message})" for r, answer in refused.items())
        return f"the mail server refused {listed}"
    return None


# Webhook ------------------------------------------------------------------------------------------


async def _webhook(
    http: httpx.AsyncClient,
    url: str,
    digest: Digest,
    base_url: str | None,
    policy: RetryPolicy,
) -> ChannelOutcome:
    target = origin(url)
    try:
        checked = check_outbound_url(url, what="the webhook URL")
    except OutboundUrlError as error:
        return ChannelOutcome(WEBHOOK, False, 0, target, str(error))
    body = json.dumps(digest.payload(base_url), ensure_ascii=False).encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"psasync/{__version__}",
    }

    async def once() -> None:
        request = http.build_request(
            "POST", checked, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT
        )
        try:
            # Never followed: a redirect could carry the digest to another host (DESIGN §7).
            response = await http.send(request, follow_redirects=False, stream=True)
        except httpx.TransportError as error:  # connect, timeout, dropped
            text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            raise _Retriable(f"{target} did not answer: {text}") from error
        # Its body is not needed (and may be anything): close without reading it.
        await response.aclose()
        status = response.status_code
        if response.is_success:
            return None
        if response.is_redirect:
            raise _Fatal(
                f"{target} answered {status} with a redirect; psasync does not follow "
                "redirects (set the final address as the webhook URL)"
            )
        if status in RETRIABLE_STATUSES or status == 408:
            raise _Retriable(f"{target} answered {status}", retry_after_seconds(response))
        raise _Fatal(f"{target} answered {status}")

    return await _attempts(WEBHOOK, target, policy, once)
