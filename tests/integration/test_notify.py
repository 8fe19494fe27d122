"""Notifications over real sockets: a local SMTP sink (aiosmtpd) and a local webhook receiver
(served by uvicorn), plus an httpx MockTransport where a test must prove no call was made.

What is guarded: the mail and the JSON arrive with the right subject, recipients and links; a
failing channel is retried, then recorded, and never stops the other; a webhook address that
DESIGN.md §7 refuses is never called; redirects are not followed; the SMTP password reaches no
log line and no outcome.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from psasync.adapters.http import RetryPolicy
from psasync.config import SecretUrl, Settings
from psasync.sandbox.server import serve_in_thread
from psasync.services.context import Services
from psasync.services.notify import (
    EMAIL_NOT_CONFIGURED,
    NOTHING_CONFIGURED,
    Digest,
    DigestTask,
    NotifyOutcome,
    notify,
)
from psasync.store import Database

pytestmark = pytest.mark.anyio

BASE = "https://psasync.example.com"
PASSWORD = "sm7p-Pa55word"
RECIPIENTS = ["ops@northwind.test", "Billing Team <billing@northwind.test>"]
DIGEST = Digest(
    tenant="Northwind IT",
    ran_at=dt.datetime(2026, 11, 3, 14, 5, tzinfo=dt.UTC),
    new_tasks=5,
    synced=(DigestTask(11, "Sales Order SO-1001 · Green Lane LLC"),),
    waiting=(
        DigestTask(14, "Change Order CO-8 · Blue Sky Ltd", "2 agreements eligible"),
        DigestTask(15, "Sales Order SO-1003 · Red Fox", "total $1,250.00 above the $500.00 limit"),
    ),
    failed=(DigestTask(16, "Billing Order BO-3 · Red Fox", "ConnectWise answered 400"),),
)


# The SMTP sink -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Sink:
    """What the local mail server received; ``answer`` None accepts, else it is DATA's reply."""

    port: int = 0
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    answer: str | None = None
    tries: int = 0

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        self.tries += 1
        if self.answer is not None:
            return self.answer
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 OK"

    def authenticate(
        self, _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        good = data.login == b"mailer" and data.password == PASSWORD.encode()
        # handled=False: aiosmtpd answers (235 or 535) itself.
        return AuthResult(success=good, handled=False)


@pytest.fixture
def sink() -> Iterator[Sink]:
    found = Sink(port=free_port())
    # AUTH over plain SMTP on loopback: the sink has no certificate, and aiosmtpd refuses AUTH
    # without TLS unless told (psasync itself allows a password in clear only on loopback).
    controller = Controller(
        found,
        hostname="127.0.0.1",
        port=found.port,
        authenticator=found.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield found
    finally:
        controller.stop()


# The webhook receiver ----------------------------------------------------------------------------


@dataclass
class Receiver:
    """Records each POST; answers the statuses queued in ``answers`` (then 200)."""

    url: str = ""
    bodies: list[Any] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)

    async def hook(self, request: Request) -> Response:
        self.bodies.append(json.loads(await request.body()))
        self.headers.append(dict(request.headers))
        status = self.answers.pop(0) if self.answers else 200
        return JSONResponse({"ok": status < 400}, status_code=status)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    app = Starlette(routes=[Route("/hooks/T0/secret-path", found.hook, methods=["POST"])])
    with serve_in_thread(app) as base_url:
        found.url = f"{base_url}/hooks/T0/secret-path?token=hook-token"
        yield found


# Services ----------------------------------------------------------------------------------------


@dataclass
class World:
    services: Services
    sleeps: list[float]
    calls: list[httpx.Request]


async def world(
    tmp_path: Path,
    *,
    smtp_url: str | None,
    transport: httpx.AsyncBaseTransport | None = None,
    base_url: str | None = BASE,
) -> AsyncIterator[World]:
    sleeps: list[float] = []
    calls: list[httpx.Request] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def seen(request: httpx.Request) -> None:
        calls.append(request)

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'notify.db'}",
        smtp_url=SecretUrl(smtp_url) if smtp_url else None,
        mail_from="psasync <psasync@northwind.test>",
        base_url=base_url,
    )
    services = Services(
        settings=settings,
        db=Database(settings.database_url),
        http=httpx.AsyncClient(transport=transport, event_hooks={"request": [seen]}),
        secret_box=None,
        retry=RetryPolicy(sleep=no_sleep),
    )
    try:
        yield World(services, sleeps, calls)
    finally:
        await services.aclose()


@pytest.fixture
async def mailing(tmp_path: Path, sink: Sink) -> AsyncIterator[World]:
    """Services whose SMTP URL is the sink (logging in as mailer)."""
    url = f"smtp://mailer:{PASSWORD}@127.0.0.1:{sink.port}"
    async for found in world(tmp_path, smtp_url=url):
        yield found


def refusing_transport() -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no call may be made, but {request.method} {request.url} was")

    return httpx.MockTransport(handle)


async def send(
    found: World, *, emails: list[str] | None = None, webhook_url: str | None = None
) -> NotifyOutcome:
    return await notify(
        found.services,
        tenant_id=7,
        digest=DIGEST,
        emails=emails if emails is not None else [],
        webhook_url=webhook_url,
    )


# E-mail and webhook together ---------------------------------------------------------------------


async def test_the_digest_arrives_by_mail_and_by_webhook(
    mailing: World, sink: Sink, receiver: Receiver
) -> None:
    outcome = await send(mailing, emails=RECIPIENTS, webhook_url=receiver.url)

    assert outcome.all_sent, outcome.summary()
    mail, hook = outcome.channels
    assert (mail.channel, mail.attempts, mail.target) == (
        "email",
        1,
        "ops@northwind.test, billing@northwind.test",
    )
    # Only the origin: the webhook's path and query (its secret) are never recorded.
    assert (hook.channel, hook.attempts, hook.target) == ("webhook", 1, receiver.url.split("/h")[0])
    assert "secret-path" not in outcome.summary() and "hook-token" not in outcome.summary()

    assert sink.logins == [(b"mailer", PASSWORD.encode())]
    [(sender, to, message)] = sink.received
    assert sender == "psasync@northwind.test"
    assert to == ["ops@northwind.test", "billing@northwind.test"]
    assert message["Subject"] == "psasync: 1 synced, 2 need review, 1 failed — Northwind IT"
    assert message["From"] == "psasync <psasync@northwind.test>"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    plain = text.get_content().replace("\r\n", "\n")
    assert "Why: total $1,250.00 above the $500.00 limit" in plain
    assert "Error: ConnectWise answered 400" in plain
    for task_id in (11, 14, 15, 16):
        assert f"{BASE}/integrations/connectwise/tasks/{task_id}" in plain
        assert f'href="{BASE}/integrations/connectwise/tasks/{task_id}"' in html.get_content()
    assert f"Dashboard: {BASE}/integrations/connectwise\n" in plain

    assert receiver.bodies == [DIGEST.payload(BASE)]
    assert receiver.bodies[0]["counts"] == {"newTasks": 5, "synced": 1, "waiting": 2, "failed": 1}
    assert receiver.headers[0]["content-type"] == "application/json; charset=utf-8"


async def test_nothing_configured_sends_nothing_and_says_so(tmp_path: Path) -> None:
    async for found in world(tmp_path, smtp_url=None, transport=refusing_transport()):
        outcome = await send(found, emails=["", "  "], webhook_url="  ")
        assert outcome.nothing_configured and outcome.channels == ()
        assert outcome.summary() == NOTHING_CONFIGURED
        assert found.calls == []


async def test_recipients_without_an_smtp_server_are_recorded_and_the_webhook_still_goes(
    tmp_path: Path, receiver: Receiver
) -> None:
    async for found in world(tmp_path, smtp_url=None):
        outcome = await send(found, emails=RECIPIENTS, webhook_url=receiver.url)
    mail = outcome.channel("email")
    assert mail is not None and not mail.sent
    assert (mail.attempts, mail.reason) == (0, EMAIL_NOT_CONFIGURED)
    assert mail.reason == "e-mail is not configured on this server (PSASYNC_SMTP_URL)"
    hook = outcome.channel("webhook")
    assert hook is not None and hook.sent and len(receiver.bodies) == 1


# Retries -----------------------------------------------------------------------------------------


async def test_a_webhook_failing_twice_is_retried_and_recorded_as_sent(
    mailing: World, receiver: Receiver
) -> None:
    receiver.answers = [500, 503]
    outcome = await send(mailing, webhook_url=receiver.url)
    [hook] = outcome.channels
    assert (hook.status, hook.attempts, hook.reason) == ("sent", 3, None)
    assert len(receiver.bodies) == 3 and receiver.bodies[0] == receiver.bodies[2]
    assert len(mailing.sleeps) == 2  # backoff between the tries (the injected sleep)


async def test_a_webhook_always_failing_is_recorded_and_the_mail_still_goes_out(
    mailing: World, sink: Sink, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.answers = [500] * 10
    with caplog.at_level(logging.DEBUG):
        outcome = await send(mailing, emails=RECIPIENTS[:1], webhook_url=receiver.url)
    hook = outcome.channel("webhook")
    assert hook is not None and not hook.sent
    assert hook.attempts == 3 and len(receiver.bodies) == 3
    assert hook.reason == f"{hook.target} answered 500"
    mail = outcome.channel("email")
    assert mail is not None and mail.sent and len(sink.received) == 1
    assert outcome.as_json()["channels"][1]["status"] == "failed"
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("psasync"))
    assert "notification not sent: webhook" in ours
    # psasync logs the webhook's origin only (httpx's own INFO line names the full URL).
    assert "hook-token" not in ours and "secret-path" not in ours


async def test_a_client_error_is_not_retried(mailing: World, receiver: Receiver) -> None:
    receiver.answers = [404]
    [hook] = (await send(mailing, webhook_url=receiver.url)).channels
    assert (hook.sent, hook.attempts, hook.reason) == (False, 1, f"{hook.target} answered 404")


async def test_an_unreachable_webhook_is_retried_then_recorded(mailing: World) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    [hook] = (await send(mailing, webhook_url=url)).channels
    assert (hook.sent, hook.attempts) == (False, 3)
    assert hook.reason is not None and "did not answer: ConnectError" in hook.reason


async def test_a_mail_server_answering_4xx_is_retried_then_recorded(
    mailing: World, sink: Sink
) -> None:
    sink.answer = "451 4.3.0 try again later"
    [mail] = (await send(mailing, emails=RECIPIENTS[:1])).channels
    assert (mail.sent, mail.attempts, sink.tries) == (False, 3, 3)
    assert (
        mail.reason == f"the mail server 127.0.0.1:{sink.port} answered 451 4.3.0 try again later"
    )


async def test_a_mail_server_answering_5xx_is_not_retried(mailing: World, sink: Sink) -> None:
    sink.answer = "554 5.6.0 rejected"
    [mail] = (await send(mailing, emails=RECIPIENTS[:1])).channels
    assert (mail.sent, mail.attempts, sink.tries) == (False, 1, 1)


async def test_an_unreachable_mail_server_is_retried_then_recorded(
    tmp_path: Path, receiver: Receiver
) -> None:
    url = f"smtp://mailer:{PASSWORD}@127.0.0.1:{free_port()}"
    async for found in world(tmp_path, smtp_url=url):
        outcome = await send(found, emails=RECIPIENTS[:1], webhook_url=receiver.url)
    mail, hook = outcome.channels
    assert (mail.sent, mail.attempts) == (False, 3)
    assert mail.reason is not None and "is unreachable" in mail.reason
    assert PASSWORD not in mail.reason
    assert hook.sent and len(receiver.bodies) == 1


# Addresses refused before any call (DESIGN.md §7) ------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/x", "must be an https:// address"),
        ("http://192.168.1.10:8080/x", "must be an https:// address"),
        ("file:///etc/passwd", "must start with https:// (not file:)"),
        ("ftp://127.0.0.1/x", "not ftp:"),
        ("https://user:pw@hooks.example.com/x", "user name or password"),
    ],
)
async def test_a_webhook_address_outside_the_rules_is_never_called(
    tmp_path: Path, url: str, reason: str
) -> None:
    async for found in world(tmp_path, smtp_url=None, transport=refusing_transport()):
        [hook] = (await send(found, webhook_url=url)).channels
        assert found.calls == []
    assert (hook.sent, hook.attempts) == (False, 0)
    assert hook.reason is not None and hook.reason.startswith("the webhook URL")
    assert reason in hook.reason


async def test_a_redirect_is_not_followed(tmp_path: Path) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host != "hooks.example.com":
            raise AssertionError(f"the redirect was followed to {request.url}")
        return httpx.Response(307, headers={"Location": "https://elsewhere.example.net/steal"})

    async for found in world(tmp_path, smtp_url=None, transport=httpx.MockTransport(handle)):
        [hook] = (await send(found, webhook_url="https://hooks.example.com/x")).channels
        assert [str(r.url) for r in found.calls] == ["https://hooks.example.com/x"]
    assert (hook.sent, hook.attempts) == (False, 1)
    assert hook.reason is not None and "does not follow redirects" in hook.reason


async def test_a_webhook_asking_to_wait_is_waited_for_within_a_cap(tmp_path: Path) -> None:
    answers = [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(204)]

    async for found in world(
        tmp_path, smtp_url=None, transport=httpx.MockTransport(lambda _: answers.pop(0))
    ):
        [hook] = (await send(found, webhook_url="https://hooks.example.com/x")).channels
    assert (hook.sent, hook.attempts, found.sleeps) == (True, 2, [7.0])


# The SMTP password -------------------------------------------------------------------------------


async def test_the_smtp_password_reaches_no_log_and_no_outcome(
    tmp_path: Path, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    # A wrong login, a chatty server echoing the password back, and a good login: the password
    # is in none of the outcomes or log lines (psasync's and every library's).
    sink.answer = f"451 4.7.1 deferred for {PASSWORD}"
    outcomes = []
    with caplog.at_level(logging.DEBUG):
        wrong = f"smtp://mailer:{PASSWORD}x@127.0.0.1:{sink.port}"
        async for found in world(tmp_path, smtp_url=wrong):
            outcomes.append(await send(found, emails=RECIPIENTS[:1]))
        good = f"smtp://mailer:{PASSWORD}@127.0.0.1:{sink.port}"
        async for found in world(tmp_path, smtp_url=good):
            outcomes.append(await send(found, emails=RECIPIENTS[:1]))
            sink.answer = None
            outcomes.append(await send(found, emails=RECIPIENTS[:1]))
            assert PASSWORD not in repr(found.services.settings)
    refused, echoed, sent = (outcome.channels[0] for outcome in outcomes)
    assert (refused.sent, refused.attempts) == (False, 1)
    assert refused.reason is not None and "refused the login (535" in refused.reason
    assert (echoed.sent, echoed.attempts, echoed.reason) == (
        False,
        3,
        f"the mail server 127.0.0.1:{sink.port} answered 451 4.7.1 deferred for ***",
    )
    assert sent.sent and len(sink.received) == 1
    recorded = json.dumps([outcome.as_json() for outcome in outcomes])
    assert PASSWORD not in recorded
    # Every log line but the sink's own (aiosmtpd's "mail.log" prints what it answers).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")
    assert PASSWORD not in logged
    assert "deferred for ***" in logged


async def test_an_smtp_url_that_would_send_the_password_in_clear_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"smtp://mailer:{PASSWORD}@smtp.example.com:587"
    with caplog.at_level(logging.DEBUG):
        async for found in world(tmp_path, smtp_url=url):
            [mail] = (await send(found, emails=RECIPIENTS[:1])).channels
    assert (mail.sent, mail.attempts) == (False, 0)
    assert mail.reason is not None and "use smtps:// or add ?starttls=1" in mail.reason
    assert PASSWORD not in caplog.text and PASSWORD not in json.dumps(mail.as_json())
