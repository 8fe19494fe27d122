"""The notification digest as people and programs read it (subject, text, HTML, webhook JSON),
the outcome's record, and the two addresses notify checks before any call: the mail server's
URL and the webhook's (DESIGN.md §7)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from psasync.adapters.outbound import OutboundUrlError, check_outbound_url, origin
from psasync.services.notify import (
    EMAIL_NOT_CONFIGURED,
    NOTHING_CONFIGURED,
    ChannelOutcome,
    Digest,
    DigestTask,
    NotifyOutcome,
    SmtpServer,
    SmtpUrlError,
    email_message,
    smtp_server,
)

BASE = "https://psasync.example.com"
RAN_AT = dt.datetime(2026, 11, 3, 15, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def digest(**changes: object) -> Digest:
    values: dict[str, object] = {
        "tenant": "Northwind IT",
        "ran_at": RAN_AT,
        "new_tasks": 6,
        "synced": [
            DigestTask(11, "Sales Order SO-1001 · Green Lane LLC"),
            DigestTask(12, "Change Order CO-7 · Green Lane LLC"),
            DigestTask(13, "Sales Order SO-1002 · Blue Sky Ltd"),
        ],
        "waiting": [
            DigestTask(14, "Change Order CO-8 · Blue Sky Ltd", "2 agreements eligible"),
            DigestTask(15, "Sales Order SO-1003 · Red Fox", "total $1,250.00 above the limit"),
        ],
        "failed": [DigestTask(16, "Billing Order BO-3 · Red Fox", "ConnectWise is unreachable")],
    }
    return Digest(**{**values, **changes})  # type: ignore[arg-type]


# Subject ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "subject"),
    [
        ({"failed": []}, "psasync: 3 synced, 2 need review — Northwind IT"),
        ({}, "psasync: 3 synced, 2 need review, 1 failed — Northwind IT"),
        (
            {"synced": [], "waiting": [DigestTask(1, "x", "why")], "failed": []},
            "psasync: 1 needs review — Northwind IT",
        ),
        ({"synced": [], "waiting": [], "failed": []}, "psasync: 6 new tasks — Northwind IT"),
        (
            {"new_tasks": 0, "synced": [], "waiting": [], "failed": []},
            "psasync: nothing new — Northwind IT",
        ),
    ],
)
def test_the_subject_counts_what_happened(changes: dict[str, object], subject: str) -> None:
    assert digest(**changes).subject() == subject


def test_the_subject_stays_one_bounded_line() -> None:
    subject = digest(tenant="Evil\r\nBcc: victim@example.com " + "x" * 500).subject()
    assert "\n" not in subject and "\r" not in subject
    assert len(subject) <= 200


# Text and HTML ------------------------------------------------------------------------------------


def test_the_text_lists_each_task_with_its_reason_and_link() -> None:
    text = digest().text(BASE)
    assert "psasync — Northwind IT" in text
    assert "Unattended run of 2026-11-03 14:05 UTC" in text
    assert "Check Changes: 6 new tasks" in text
    assert "Auto-synced: 3" in text and "#11 Sales Order SO-1001 · Green Lane LLC" in text
    assert "Waiting for review: 2" in text
    assert "#14 Change Order CO-8 · Blue Sky Ltd\n    Why: 2 agreements eligible\n" in text
    assert "Failed: 1" in text and "Error: ConnectWise is unreachable" in text
    for task_id in range(11, 17):
        assert f"{BASE}/integrations/connectwise/tasks/{task_id}\n" in text
    assert f"Dashboard: {BASE}/integrations/connectwise\n" in text


def test_without_a_base_url_there_are_no_links() -> None:
    text = digest().text(None)
    assert "http" not in text and "Dashboard" not in text
    assert "<a " not in digest().html(None)


def test_a_title_cannot_add_lines_to_the_text() -> None:
    text = digest(waiting=[DigestTask(14, "A\nFailed: 0", "x\r\ny")]).text(BASE)
    assert "  • #14 A Failed: 0\n    Why: x y\n" in text


def test_the_html_escapes_every_value_and_links_the_tasks() -> None:
    html = digest(
        tenant="Northwind <IT>",
        waiting=[DigestTask(14, "<script>alert(1)</script>", 'a "quoted" & <b>reason</b>')],
    ).html(BASE)
    assert "<script>" not in html and "<b>reason" not in html
    assert "Northwind &lt;IT&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a &quot;quoted&quot; &amp; &lt;b&gt;reason&lt;/b&gt;" in html
    assert f'<a href="{BASE}/integrations/connectwise/tasks/14">' in html
    assert f'<a href="{BASE}/integrations/connectwise">' in html


def test_the_email_has_text_and_an_html_alternative() -> None:
    message = email_message(
        digest(), sender="psasync <psasync@example.com>", recipients=["a@x.test"], base_url=BASE
    )
    assert message["Subject"] == "psasync: 3 synced, 2 need review, 1 failed — Northwind IT"
    assert message["To"] == "a@x.test" and message["From"] == "psasync <psasync@example.com>"
    assert message["Message-ID"].endswith("@example.com>")
    assert message.get_content_type() == "multipart/alternative"
    types = [part.get_content_type() for part in message.iter_parts()]
    assert types == ["text/plain", "text/html"]


# The webhook's JSON ------------------------------------------------------------------------------


def test_the_payload_has_the_documented_shape() -> None:
    payload = digest().payload(BASE)
    assert json.loads(json.dumps(payload)) == payload
    assert payload == {
        "tenant": "Northwind IT",
        "ranAt": "2026-11-03T14:05:00Z",
        "counts": {"newTasks": 6, "synced": 3, "waiting": 2, "failed": 1},
        "synced": [
            {
                "taskId": task_id,
                "title": title,
                "url": f"{BASE}/integrations/connectwise/tasks/{task_id}",
            }
            for task_id, title in [
                (11, "Sales Order SO-1001 · Green Lane LLC"),
                (12, "Change Order CO-7 · Green Lane LLC"),
                (13, "Sales Order SO-1002 · Blue Sky Ltd"),
            ]
        ],
        "waiting": [
            {
                "taskId": 14,
                "title": "Change Order CO-8 · Blue Sky Ltd",
                "reason": "2 agreements eligible",
                "url": f"{BASE}/integrations/connectwise/tasks/14",
            },
            {
                "taskId": 15,
                "title": "Sales Order SO-1003 · Red Fox",
                "reason": "total $1,250.00 above the limit",
                "url": f"{BASE}/integrations/connectwise/tasks/15",
            },
        ],
        "failed": [
            {
                "taskId": 16,
                "title": "Billing Order BO-3 · Red Fox",
                "error": "ConnectWise is unreachable",
                "url": f"{BASE}/integrations/connectwise/tasks/16",
            }
        ],
        "dashboardUrl": f"{BASE}/integrations/connectwise",
    }


def test_a_failure_without_a_task_and_no_base_url_have_null_links() -> None:
    payload = digest(failed=[DigestTask(None, "Check Changes", "marketplace down")]).payload(None)
    assert payload["failed"] == [
        {"taskId": None, "title": "Check Changes", "error": "marketplace down", "url": None}
    ]
    assert payload["dashboardUrl"] is None
    assert {item["url"] for item in payload["waiting"]} == {None}


def test_a_digest_needs_an_aware_time_and_keeps_tuples() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        digest(ran_at=dt.datetime(2026, 11, 3, 14, 5))  # noqa: DTZ001 - the mistake under test
    with pytest.raises(ValueError, match="negative"):
        digest(new_tasks=-1)
    assert isinstance(digest().synced, tuple)


# The outcome's record -----------------------------------------------------------------------------


def test_the_outcome_says_when_nothing_was_configured() -> None:
    outcome = NotifyOutcome()
    assert outcome.nothing_configured and not outcome.all_sent
    assert outcome.summary() == NOTHING_CONFIGURED
    assert outcome.as_json() == {"summary": NOTHING_CONFIGURED, "channels": []}


def test_the_outcome_records_each_channel() -> None:
    outcome = NotifyOutcome(
        (
            ChannelOutcome("email", False, 0, "a@x.test", EMAIL_NOT_CONFIGURED),
            ChannelOutcome("webhook", True, 3, "https://hooks.example.com"),
        )
    )
    assert not outcome.all_sent and outcome.failed == (outcome.channels[0],)
    assert outcome.channel("webhook") == outcome.channels[1]
    assert outcome.summary() == (
        f"e-mail to a@x.test failed (0 attempts): {EMAIL_NOT_CONFIGURED}; "
        "webhook sent to https://hooks.example.com (3 attempts)"
    )
    assert outcome.as_json()["channels"][1] == {
        "channel": "webhook",
        "status": "sent",
        "attempts": 3,
        "target": "https://hooks.example.com",
        "reason": None,
    }


# The mail server's URL ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "server"),
    [
        ("smtp://127.0.0.1:8025", SmtpServer("127.0.0.1", 8025)),
        (
            "smtp://mailer:p%40ss%3Aword@smtp.example.com:587?starttls=1",
            SmtpServer("smtp.example.com", 587, False, True, "mailer", "p@ss:word"),
        ),
        (
            "smtps://mailer:pw@smtp.example.com",
            SmtpServer("smtp.example.com", 465, True, None, "mailer", "pw"),
        ),
        ("smtp://relay.example.com?starttls=0", SmtpServer("relay.example.com", 25, False, False)),
        ("SMTP://u:pw@localhost:2525/", SmtpServer("localhost", 2525, False, None, "u", "pw")),
    ],
)
def test_smtp_urls_are_read(url: str, server: SmtpServer) -> None:
    assert smtp_server(url) == server


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://u:hunter2@smtp.example.com", "smtp:// or smtps://"),
        ("smtp://u:hunter2@smtp.example.com:99999", "invalid host or port"),
        ("smtp://u:hunter2@bad_host!", "no valid host"),
        ("smtp://u:hunter2@smtp.example.com?starttls=maybe", "starttls must be 1 or 0"),
        ("smtp://u:hunter2@smtp.example.com?starttls=1&hunter2=1", "unknown parameter"),
        ("smtps://u:hunter2@smtp.example.com?starttls=1", "TLS already"),
        ("smtp://u:hunter2@smtp.example.com/x", "no path"),
        ("smtp://:hunter2@smtp.example.com?starttls=1", "without a user name"),
        # A password over plain smtp to another machine would cross the network in clear.
        ("smtp://u:hunter2@smtp.example.com:587", "in clear"),
        ("smtp://u:hunter2@smtp.example.com:587?starttls=0", "in clear"),
    ],
)
def test_unusable_smtp_urls_are_refused_without_repeating_them(url: str, message: str) -> None:
    with pytest.raises(SmtpUrlError, match=message) as refused:
        smtp_server(url)
    assert "hunter2" not in str(refused.value)


def test_the_smtp_password_stays_out_of_the_servers_repr() -> None:
    server = smtp_server("smtps://mailer:hunter2@smtp.example.com")
    assert "hunter2" not in repr(server) and "hunter2" not in str(server)


# The webhook's address (DESIGN.md §7) -------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/services/T0/B0/secret?x=1",
        "https://HOOKS.example.com:8443/",
        "http://127.0.0.1:8080/hook",
        "http://[::1]:8080/hook",
        "http://localhost/hook",
        "http://receiver.test/hook",
        "  https://hooks.example.com/x  ",
    ],
)
def test_https_and_loopback_http_webhooks_are_allowed(url: str) -> None:
    assert check_outbound_url(url, what="the webhook URL") == url.strip()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/x", "must be an https:// address"),
        ("http://10.0.0.5/x", "must be an https:// address"),
        ("file:///etc/passwd", "must start with https:// .not file:"),
        ("ftp://hooks.example.com/x", "not ftp:"),
        ("javascript:alert(1)", "not javascript:"),
        ("gopher://127.0.0.1:25/x", "not gopher:"),
        ("hooks.example.com/x", "not no scheme"),
        ("https:hooks.example.com", "must start with https://"),
        ("https://user:pw@hooks.example.com/x", "user name or password"),
        ("https://hooks.example.com/x#frag", "fragment"),
        ("https://hooks.example.com:99999/x", "invalid host or port"),
        ("https://bad_host/x", "no valid host"),
        ("https:///x", "no valid host"),
        ("https://hooks.example.com/a b", "without spaces"),
        ("https://hööks.example.com", "ASCII"),
        ("https://hooks.example.com/" + "x" * 2000, "at most 2000"),
        ("   ", "is empty"),
    ],
)
def test_other_webhook_addresses_are_refused(url: str, message: str) -> None:
    with pytest.raises(OutboundUrlError, match=message) as refused:
        check_outbound_url(url, what="the webhook URL")
    assert str(refused.value).startswith("the webhook URL")
    assert "pw@" not in str(refused.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.com/services/T0/B0/secret?token=x", "https://hooks.example.com"),
        ("http://127.0.0.1:8080/hook", "http://127.0.0.1:8080"),
        ("http://[::1]:9/x", "http://[::1]:9"),
        ("https://u:pw@h.example.com/x", "https://h.example.com"),
        ("https://h.example.com:99999/x", "(invalid address)"),
    ],
)
def test_only_a_webhooks_origin_is_shown(url: str, shown: str) -> None:
    assert origin(url) == shown
