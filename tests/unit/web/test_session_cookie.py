"""The session cookie: signed, carrying the session id and the sealed password only."""

from __future__ import annotations

from itsdangerous import URLSafeSerializer

from psasync.web.session import CookieSigner, SessionCookie

KEY = b"k" * 32


def test_a_signed_cookie_reads_back() -> None:
    cookie = SessionCookie(session_id="sid", renewal="sealed")
    assert CookieSigner(KEY).unsign(CookieSigner(KEY).sign(cookie)) == cookie


def test_another_key_or_a_tampered_value_is_no_cookie() -> None:
    value = CookieSigner(KEY).sign(SessionCookie(session_id="sid", renewal="sealed"))
    assert CookieSigner(b"o" * 32).unsign(value) is None
    assert CookieSigner(KEY).unsign(value[:-2] + "xx") is None


def test_a_signed_value_of_another_shape_is_no_cookie() -> None:
    serializer = URLSafeSerializer(KEY, salt="psasync session")
    for payload in ("just-an-id", {"id": "sid"}, {"id": 1, "renew": "x"}, ["sid", "x"]):
        assert CookieSigner(KEY).unsign(serializer.dumps(payload)) is None


def test_the_cookies_repr_shows_nothing() -> None:
    assert "sid" not in repr(SessionCookie(session_id="sid", renewal="sealed"))
    assert "sealed" not in repr(SessionCookie(session_id="sid", renewal="sealed"))
