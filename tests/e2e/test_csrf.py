"""CSRF (DESIGN.md §7): a change carrying the session cookie needs the session's token whatever
its Content-Type, and another site's Origin is refused; the documented flows keep working."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import World, task_id

pytestmark = pytest.mark.anyio

# The ways a body can arrive: none at all, bytes, JSON, a form, plain text.
BODIES: dict[str, dict[str, object]] = {
    "no content type": {},
    "octet-stream": {"content": b"\x00", "headers": {"Content-Type": "application/octet-stream"}},
    "json": {"json": {"anything": True}},
    "form": {"data": {"something": "else"}},
    "text": {"content": "hello", "headers": {"Content-Type": "text/plain"}},
}


def without_token(client: httpx.AsyncClient) -> str:
    """Take the API token off the client (as another site's page would lack it)."""
    return str(client.headers.pop("X-CSRF-Token"))


async def status_of(client: httpx.AsyncClient, task: int) -> str:
    return str((await client.get(f"/api/v1/connectwise/tasks/{task}")).json()["status"])


@pytest.mark.parametrize("body", sorted(BODIES))
async def test_api_changes_without_the_token_are_403_whatever_the_body(
    world: World, body: str
) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000418")
        token = without_token(client)
        answer = await client.post(f"/api/v1/connectwise/tasks/{task}/ignore", **BODIES[body])  # type: ignore[arg-type]
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "CsrfFailed"
        assert await status_of(client, task) == "new"
        answer = await client.post(
            f"/api/v1/connectwise/tasks/{task}/ignore", headers={"X-CSRF-Token": token}
        )
        assert answer.status_code == 200
        assert await status_of(client, task) == "ignored"


async def test_a_wrong_token_anywhere_is_refused(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000418")
        for attempt in (
            {"headers": {"X-CSRF-Token": "guess"}},
            {"data": {"csrf_token": "guess"}},  # the right header rides along: still refused
        ):
            answer = await client.post(f"/api/v1/connectwise/tasks/{task}/ignore", **attempt)  # type: ignore[arg-type]
            assert answer.status_code == 403
        assert await status_of(client, task) == "new"


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", "http://[", "http://psasync.test.evil"]
)
async def test_another_sites_origin_is_refused_even_with_the_token(
    world: World, origin: str
) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000418")
        answer = await client.post(
            f"/api/v1/connectwise/tasks/{task}/ignore", headers={"Origin": origin}
        )
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "CrossSiteRequest"
        same = await client.post(
            f"/api/v1/connectwise/tasks/{task}/ignore", headers={"Origin": "http://psasync.test"}
        )
        assert same.status_code == 200


@pytest.mark.parametrize("body", sorted(BODIES))
async def test_page_posts_without_the_token_are_403(world: World, body: str) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000418")
        token = without_token(client)
        ignore = f"/integrations/connectwise/tasks/{task}/ignore"
        answer = await client.post(ignore, **BODIES[body])  # type: ignore[arg-type]
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("text/html")
        assert (await client.post("/logout", **BODIES[body])).status_code == 403  # type: ignore[arg-type]
        client.headers["X-CSRF-Token"] = token
        assert await status_of(client, task) == "new"
        # htmx sends the header; a plain form sends the field.
        assert (await client.post(ignore, headers={"HX-Request": "true"})).status_code == 200
        assert await status_of(client, task) == "ignored"
        logout = await client.post("/logout", data={"csrf_token": token})
        assert logout.status_code == 303
        assert (await client.get("/api/v1/auth/session")).status_code == 401


async def test_the_documented_api_flow_reads_the_token_from_the_session(world: World) -> None:
    async with world.login() as client:
        login_token = without_token(client)
        session = (await client.get("/api/v1/auth/session")).json()
        assert session["csrfToken"] == login_token
        answer = await client.post(
            "/api/v1/auth/logout", headers={"X-CSRF-Token": session["csrfToken"]}
        )
        assert answer.status_code == 204
