"""Database URLs: the async driver is chosen for the user, anything else is refused clearly."""

import pytest

from psasync.store import Database, DatabaseError, async_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///psasync.db", "sqlite+aiosqlite:///psasync.db"),
        ("sqlite:////var/lib/psasync/psasync.db", "sqlite+aiosqlite:////var/lib/psasync/psasync.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://psasync:pw@db.internal:5433/psasync", "postgresql+psycopg://psasync:pw@db.internal:5433/psasync"),
        ("postgres://psasync:pw@db.internal/psasync", "postgresql+psycopg://psasync:pw@db.internal/psasync"),
    ],
)  # fmt: skip
def test_a_url_without_driver_gets_the_async_one(url: str, expected: str) -> None:
    assert async_url(url) == expected


@pytest.mark.parametrize(
    "url", ["sqlite+aiosqlite:///psasync.db", "postgresql+psycopg://psasync@db.internal/psasync"]
)
def test_a_url_with_an_async_driver_is_kept(url: str) -> None:
    assert async_url(url) == url


def test_the_password_survives_the_rewrite() -> None:
    # Rendering a URL hides the password by default; the engine must get the real one.
    assert ":s3cr%40t@" in async_url("postgresql://psasync:s3cr%40t@db.internal/psasync")


@pytest.mark.parametrize(
    ("url", "backend"),
    [("mysql://root@localhost/psasync", "mysql"), ("oracle://scott@db/orcl", "oracle")],
)
def test_an_unsupported_database_is_refused_by_name(url: str, backend: str) -> None:
    with pytest.raises(DatabaseError) as refused:
        async_url(url)
    message = str(refused.value)
    assert repr(backend) in message
    assert "sqlite or postgresql" in message


@pytest.mark.parametrize("url", ["not a url", "", "://nothing"])
def test_text_that_is_no_url_is_refused(url: str) -> None:
    with pytest.raises(DatabaseError, match="is not a database URL"):
        async_url(url)


def test_the_repr_of_a_database_hides_the_password() -> None:
    database = Database("postgresql://psasync:hunter2hunter2@db.internal/psasync")
    try:
        shown = repr(database)
        assert "hunter2" not in shown
        assert "db.internal/psasync" in shown
        assert "postgresql+psycopg" in shown
    finally:
        # Nothing connected, but the engine's pool is released all the same.
        database.engine.sync_engine.dispose()


def test_the_head_revision_is_the_last_migration() -> None:
    assert Database.head() == "0011"
