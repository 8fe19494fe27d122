"""Sessions in the database (DESIGN §7): the password is in no table, log, response or readable
cookie; the marketplace token is stored sealed and renewed with the cookie's credentials;
logout and idle expiry end a session; Check Changes is locked per tenant in the database."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import zlib
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update

from psasync.services import check_changes
from psasync.services.sessions import id_hash
from psasync.store import SecretBox, SecretKeyError, TenantLock, UserSessionRow
from psasync.store.models import Base
from psasync.web.session import COOKIE
from tests.e2e.conftest import NORTHWIND, NOW, SECRET, World

pytestmark = pytest.mark.anyio

PASSWORD = NORTHWIND["password"]


async def table_text(world: World) -> str:
    """Every row of every table, as text."""
    dumped = []
    async with world.services.db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = (await connection.execute(select(table))).all()
            dumped.append(f"{table.name}: {[tuple(row) for row in rows]!r}")
    return "\n".join(dumped)


def cookie_payload(value: str) -> Any:
    """The cookie's payload as anyone holding it can read it (no key needed): itsdangerous
    signs, it does not encrypt — base64 of JSON (zlib-compressed when it starts with '.')."""
    payload = value.rsplit(".", 1)[0]
    compressed = payload.startswith(".")
    raw = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload.lstrip(".")) % 4))
    return json.loads(zlib.decompress(raw) if compressed else raw)


async def session_rows(world: World) -> list[UserSessionRow]:
    async with world.services.db.session() as session:
        return list(await session.scalars(select(UserSessionRow)))


async def test_the_password_is_in_no_table_log_response_or_readable_cookie(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answers: list[httpx.Response] = []
    async with world.login() as client:
        client.event_hooks["response"] = [_keep(answers)]
        await client.get("/api/v1/auth/session")
        assert (await client.post("/api/v1/connectwise/check-changes")).status_code == 200
        user = {"marketplaceUser": NORTHWIND}
        assert (await client.put("/api/v1/connectwise/automation", json=user)).status_code == 200
        await client.get("/api/v1/connectwise/automation")
        await client.get("/integrations/connectwise/automation")
        await _expire_stored_tokens(world)  # the next marketplace read renews with the cookie
        assert (await client.post("/api/v1/connectwise/check-changes")).status_code == 200
        cookie = client.cookies[COOKIE]

    assert PASSWORD not in await table_text(world)
    assert PASSWORD not in caplog.text
    for answer in answers:
        assert PASSWORD not in answer.text and PASSWORD not in str(answer.headers)
    # The cookie alone: its payload is readable, the password in it is not.
    payload = cookie_payload(cookie)
    assert PASSWORD not in json.dumps(payload)
    assert set(payload) == {"id", "renew"}
    with pytest.raises(SecretKeyError):
        SecretBox("another-secret-key-0123456789abcdef").open(payload["renew"])
    assert SecretBox(SECRET).open(payload["renew"]) == PASSWORD  # only with the key
    # The database knows the session by the id's hash, never by the id.
    (row,) = await session_rows(world)
    assert row.id_hash == id_hash(payload["id"]) and payload["id"] not in await table_text(world)


def _keep(answers: list[httpx.Response]) -> Any:
    async def hook(response: httpx.Response) -> None:
        await response.aread()
        answers.append(response)

    return hook


async def _expire_stored_tokens(world: World) -> None:
    lapsed = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    async with world.services.db.session() as session:
        await session.execute(
            update(UserSessionRow).values(token_issued_at=lapsed, token_expires_at=lapsed)
        )


async def test_the_login_answer_carries_the_csrf_token_and_the_row_the_sealed_token(
    world: World,
) -> None:
    async with world.client() as client:
        answer = await client.post("/api/v1/auth/login", json={"marketplace": "us", **NORTHWIND})
    (row,) = await session_rows(world)
    assert answer.json()["csrfToken"] == row.csrf_token
    assert (row.username, row.reseller_id, row.marketplace) == (
        NORTHWIND["username"],
        "1000001",
        "us",
    )
    assert (row.created_at, row.last_seen_at, row.expires_at) == (
        NOW,
        NOW,
        NOW + dt.timedelta(hours=8),
    )
    token = world.services.box().open(row.token_encrypted)
    assert token and token not in row.token_encrypted
    assert row.token_expires_at > dt.datetime.now(dt.UTC)


async def test_a_lapsed_token_is_renewed_with_the_cookie_and_stored_back_sealed(
    world: World,
) -> None:
    async with world.login() as client:
        (before,) = await session_rows(world)
        await _expire_stored_tokens(world)
        tokens = world.sandbox.calls.total(method="POST", prefix="/marketplace/us/token")
        assert (await client.post("/api/v1/connectwise/check-changes")).status_code == 200
        assert (
            world.sandbox.calls.total(method="POST", prefix="/marketplace/us/token") == tokens + 1
        )
        (after,) = await session_rows(world)
        assert after.token_expires_at > dt.datetime.now(dt.UTC)
        assert world.services.box().open(after.token_encrypted) != world.services.box().open(
            before.token_encrypted
        )
        # The renewed token serves the next request: no new login.
        assert (await client.post("/api/v1/connectwise/check-changes")).status_code == 200
        assert (
            world.sandbox.calls.total(method="POST", prefix="/marketplace/us/token") == tokens + 1
        )


async def test_logout_deletes_the_row_and_the_cookie_opens_nothing_after(world: World) -> None:
    async with world.login() as client:
        cookie = client.cookies[COOKIE]
        assert len(await session_rows(world)) == 1
        assert (await client.post("/api/v1/auth/logout")).status_code == 204
        assert await session_rows(world) == []
    async with world.client() as stolen:
        stolen.cookies.set(COOKIE, cookie)
        assert (await stolen.get("/api/v1/auth/session")).status_code == 401


async def test_an_idle_session_expires_after_eight_hours_and_is_purged(world: World) -> None:
    async with world.login() as client:
        world.services.now = lambda: NOW + dt.timedelta(hours=7, minutes=59)
        assert (await client.get("/api/v1/auth/session")).status_code == 200
        # Seen at 7:59, so it lives until 15:59.
        world.services.now = lambda: NOW + dt.timedelta(hours=15, minutes=58)
        assert (await client.get("/api/v1/auth/session")).status_code == 200
        world.services.now = lambda: NOW + dt.timedelta(hours=24)
        assert (await client.get("/api/v1/auth/session")).status_code == 401
        assert await session_rows(world) == []


async def test_a_page_after_logout_sends_the_browser_to_login(world: World) -> None:
    async with world.login() as client:
        assert (await client.get("/integrations/connectwise/automation")).status_code == 200
        await client.post("/api/v1/auth/logout")
        answer = await client.get("/integrations/connectwise/automation")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


async def test_check_changes_is_refused_while_the_tenants_lock_is_held_elsewhere(
    world: World,
) -> None:
    async with world.login() as client:
        (row,) = await session_rows(world)
        async with world.services.db.session() as session:
            session.add(
                TenantLock(
                    tenant_id=row.tenant_id,
                    purpose=check_changes.CHECK_LOCK,
                    holder="another-process",
                    held_by="someone",
                    acquired_at=NOW,
                    held_until=NOW + dt.timedelta(minutes=5),
                )
            )
        answer = await client.post("/api/v1/connectwise/check-changes")
        assert answer.status_code == 409 and answer.json()["error"]["code"] == "CheckRunning"
        assert (await client.get("/api/v1/connectwise/tasks")).json()["total"] == 0
        # The other holder crashed: once its lease lapses, Check Changes runs (and lets go).
        world.services.now = lambda: NOW + dt.timedelta(minutes=5)
        answer = await client.post("/api/v1/connectwise/check-changes")
        assert answer.status_code == 200 and answer.json()["created"] == 12
        async with world.services.db.session() as session:
            assert (await session.execute(text("SELECT count(*) FROM tenant_locks"))).scalar() == 0


async def test_a_one_off_login_gives_an_actor_and_stores_no_session(world: World) -> None:
    from psasync.services import auth

    actor = await auth.login_actor(world.services, marketplace="us", **NORTHWIND)
    assert actor.name == NORTHWIND["username"] and actor.marketplace is not None
    assert len((await actor.reads_marketplace().list_orders()).items) > 10
    assert await session_rows(world) == []
