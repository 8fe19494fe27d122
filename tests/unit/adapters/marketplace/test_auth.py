"""Credentials and tokens: nothing secret in reprs, renewal ahead of expiry, one renewal at once."""

from __future__ import annotations

import base64
import datetime as dt

import anyio
import pytest

from psasync.adapters.marketplace import AccessToken, Credentials, TokenKeeper

pytestmark = pytest.mark.anyio

T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def token(value: str, *, at: dt.datetime = T0, seconds: int = 1500) -> AccessToken:
    return AccessToken(value=value, issued_at=at, expires_at=at + dt.timedelta(seconds=seconds))


def test_credentials_make_a_basic_header_and_hide_the_password() -> None:
    credentials = Credentials(username="alice@example.test", password="pä:ss")
    header = credentials.basic_authorization()
    assert header.startswith("Basic ")
    assert base64.b64decode(header[6:]).decode() == "alice@example.test:pä:ss"
    assert "pä:ss" not in repr(credentials)


def test_a_token_hides_its_value() -> None:
    assert "s3cr3t" not in repr(token("s3cr3t"))
    assert token("s3cr3t").authorization == "Bearer s3cr3t"


@pytest.mark.parametrize(
    ("lifetime", "elapsed", "renew"),
    [
        (1500, 1439, False),  # 61 s left of 1500: outside the 60 s margin
        (1500, 1440, True),
        (1500, 1600, True),  # lapsed
        (100, 74, False),  # short-lived: the margin shrinks to a quarter (25 s)
        (100, 75, True),
    ],
)
def test_renewal_is_due_a_margin_before_expiry(lifetime: int, elapsed: int, renew: bool) -> None:
    now = T0 + dt.timedelta(seconds=elapsed)
    margin = dt.timedelta(seconds=60)
    assert token("t", seconds=lifetime).needs_renewal(now, margin=margin) is renew


class Issuer:
    def __init__(self, clock: list[dt.datetime]) -> None:
        self.clock = clock
        self.issued = 0

    async def __call__(self) -> AccessToken:
        self.issued += 1
        await anyio.sleep(0)  # let concurrent callers pile up on the lock
        return token(f"token-{self.issued}", at=self.clock[0])


async def test_the_keeper_issues_once_and_renews_ahead_of_expiry() -> None:
    clock = [T0]
    issuer = Issuer(clock)
    keeper = TokenKeeper(issuer, now=lambda: clock[0])
    first = await keeper.current()
    assert (await keeper.current()) is first and issuer.issued == 1
    clock[0] = T0 + dt.timedelta(seconds=1450)
    assert (await keeper.current()).value == "token-2"
    assert "token-" not in repr(keeper)


async def test_concurrent_refusals_of_one_token_renew_it_once() -> None:
    clock = [T0]
    issuer = Issuer(clock)
    keeper = TokenKeeper(issuer, now=lambda: clock[0])
    refused = await keeper.current()
    renewed: list[AccessToken] = []

    async def renew() -> None:
        renewed.append(await keeper.renew(refused))

    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(renew)
    assert issuer.issued == 2 and {t.value for t in renewed} == {"token-2"}
    await keeper.renew(renewed[0])  # that one refused too: renewed again
    assert issuer.issued == 3
