"""``psasync demo``: the whole product on the demo fixture, on one machine, in one command.

Both sandboxes (ConnectWise and each Cloud Marketplace) serve the fixture from memory; the app
serves on an embedded SQLite database in the data directory. The sandboxes start from the fixture
on every run, so the database does too: a task synced in an earlier run must not look synced
against a ConnectWise that has forgotten it.

:func:`start_demo` starts everything and stops it again (the command and the tests use it);
:func:`show_demo` prints what to open and type; :func:`wait_for_stop` blocks until Ctrl+C or
SIGTERM.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from rich.console import Console
from rich.markup import escape
from starlette.types import ASGIApp

from psasync.bootstrap import job_engine
from psasync.config import Settings
from psasync.sandbox.fixture import DEMO_FIXTURE, FixtureError, SandboxFixture, load_fixture
from psasync.sandbox.server import base_url, build_sandbox, serve_in_thread

DATABASE_NAME = "psasync-demo.db"
# SQLite's companions of the database file (write-ahead log, shared memory, rollback journal).
_DATABASE_COMPANIONS = ("-wal", "-shm", "-journal")
# The usual first Check Changes reaches back this far (Settings' default).
WINDOW_DAYS = 31
# Addresses that listen everywhere; a browser (and the app) reaches them on the loopback.
_EVERYWHERE = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104 - mapped away


def _max_lookback_days() -> int:
    """The largest ``check_lookback_days`` :class:`Settings` accepts."""
    bounds = [
        bound
        for constraint in Settings.model_fields["check_lookback_days"].metadata
        if isinstance(bound := getattr(constraint, "le", None), int)
    ]
    if not bounds:
        raise RuntimeError("Settings.check_lookback_days has no upper bound")
    return min(bounds)


MAX_LOOKBACK_DAYS = _max_lookback_days()


class DemoSettings(Settings):
    """:class:`Settings` from their arguments only: no ``PSASYNC_*`` variable reaches the demo."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],  # noqa: ARG003 - pydantic's signature
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - pydantic's signature
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - pydantic's signature
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - pydantic's signature
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


class DemoError(RuntimeError):
    """The demo cannot start: a server did not come up."""


class DataDirError(DemoError):
    """The data directory cannot be made or its old database cannot be removed."""


@dataclass(frozen=True)
class DemoLogin:
    """A reseller user of the fixture, as the login page asks for it."""

    marketplace_code: str
    marketplace: str
    reseller: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ConnectWiseCredentials:
    """What to type into the ConnectWise settings form for the sandbox."""

    site_url: str
    company_id: str
    public_key: str
    private_key: str = field(repr=False)
    client_id: str


@dataclass(frozen=True)
class AutotaskDemoCredentials:
    """What to type into the Autotask settings form for the sandbox (the zone is found by
    discovery at the sandbox, so the zone URL stays empty); ``reseller`` uses Autotask."""

    reseller: str | None
    username: str
    secret: str = field(repr=False)
    integration_code: str = field(repr=False)


@dataclass(frozen=True)
class DemoRun:
    """A running demo: where everything is, and the logins it printed."""

    app_url: str
    sandbox_url: str
    database: Path
    replaced_database: bool
    settings: Settings
    logins: tuple[DemoLogin, ...]
    connectwise: tuple[ConnectWiseCredentials, ...]
    # API users for unattended work: what the automation page takes as the integration user.
    integration_users: tuple[DemoLogin, ...] = ()
    # The Autotask API users of the sandbox, with the reseller whose PSA it is.
    autotask: tuple[AutotaskDemoCredentials, ...] = ()

    @property
    def login_url(self) -> str:
        return f"{self.app_url}/login"


# The pure part ----------------------------------------------------------------------------------


def lookback_days(*, newest_order: dt.date | None, today: dt.date) -> int:
    """How far back the first Check Changes must look to reach the fixture's newest orders.

    The usual 31-day window, anchored at the newest order's day instead of today:
    ``max(31, (today − newest_order).days + 31)``, capped at the largest value Settings accepts.
    No orders at all: the usual window.
    """
    if newest_order is None:
        return WINDOW_DAYS
    return min(MAX_LOOKBACK_DAYS, max(WINDOW_DAYS, (today - newest_order).days + WINDOW_DAYS))


def newest_order_date(fixture: SandboxFixture) -> dt.date | None:
    """The (UTC) day the fixture's newest marketplace order was created, None without orders."""
    created = [order.creation_date for order in fixture.marketplace.orders]
    return max(created).astimezone(dt.UTC).date() if created else None


def demo_settings(
    fixture: SandboxFixture,
    *,
    sandbox_url: str,
    database: Path,
    today: dt.date,
    secret_key: str,
) -> Settings:
    """The app's settings for the demo, built from the fixture (never from the environment)."""
    marketplaces = [
        {
            "code": marketplace.code,
            "name": marketplace.name,
            "url": f"{sandbox_url}/marketplace/{marketplace.code}",
            "subscriptionKey": marketplace.subscription_key,
        }
        for marketplace in fixture.marketplace.marketplaces
    ]
    values = {
        "database_url": f"sqlite+aiosqlite:///{database}",
        "secret_key": secret_key,
        "marketplaces": marketplaces,
        "check_lookback_days": lookback_days(newest_order=newest_order_date(fixture), today=today),
        # Autotask's zone discovery asks the sandbox, which serves zoneInformation at its root.
        "autotask_discovery_url": sandbox_url,
    }
    try:
        return DemoSettings.model_validate(values)
    except ValidationError as error:
        raise FixtureError(f"the fixture's marketplaces cannot be served: {error}") from None


# The fixture's API users for unattended work are named automation@…; people log in as the others.
INTEGRATION_USER_PREFIX = "automation@"


def demo_logins(fixture: SandboxFixture) -> tuple[DemoLogin, ...]:
    """Every person's login of every reseller in the fixture, with its marketplace's name."""
    return tuple(login for login in _users(fixture) if not _is_integration_user(login.username))


def demo_integration_users(fixture: SandboxFixture) -> tuple[DemoLogin, ...]:
    """The API users of the fixture that the automation page takes as integration user."""
    return tuple(login for login in _users(fixture) if _is_integration_user(login.username))


def _is_integration_user(username: str) -> bool:
    return username.lower().startswith(INTEGRATION_USER_PREFIX)


def _users(fixture: SandboxFixture) -> tuple[DemoLogin, ...]:
    names = {marketplace.code: marketplace.name for marketplace in fixture.marketplace.marketplaces}
    return tuple(
        DemoLogin(
            marketplace_code=reseller.marketplace,
            marketplace=names.get(reseller.marketplace, reseller.marketplace),
            reseller=reseller.name,
            username=user.username,
            password=user.password,
        )
        for reseller in fixture.marketplace.resellers
        for user in reseller.users
    )


def connectwise_credentials(
    fixture: SandboxFixture, *, site_url: str
) -> tuple[ConnectWiseCredentials, ...]:
    """The fixture's ConnectWise API members, on the sandbox's site URL."""
    return tuple(
        ConnectWiseCredentials(
            site_url=site_url,
            company_id=credential.company_id,
            public_key=credential.public_key,
            private_key=credential.private_key,
            client_id=credential.client_id,
        )
        for credential in fixture.connectwise.credentials
    )


def autotask_credentials(fixture: SandboxFixture) -> tuple[AutotaskDemoCredentials, ...]:
    """The fixture's Autotask API users; the reseller using Autotask is the one named like the
    Autotask database's own company (id 0), if any."""
    resellers = {reseller.name for reseller in fixture.marketplace.resellers}
    owner = next((c.company_name for c in fixture.autotask.companies if c.id == 0), None)
    return tuple(
        AutotaskDemoCredentials(
            reseller=owner if owner in resellers else None,
            username=credential.username,
            secret=credential.secret,
            integration_code=credential.integration_code,
        )
        for credential in fixture.autotask.credentials
    )


def reachable_url(url: str) -> str:
    """``url`` with a listen-everywhere host (``0.0.0.0``, ``::``) replaced by the loopback."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host not in _EVERYWHERE or parts.port is None:
        return url
    return base_url(_EVERYWHERE[host], parts.port)


# The imperative shell ---------------------------------------------------------------------------


def fresh_database(data_dir: Path) -> tuple[Path, bool]:
    """Make ``data_dir`` and remove the previous run's database: (its path, whether one was)."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataDirError(
            f"cannot create the data directory {data_dir}: {error.strerror or error}"
        ) from None
    database = data_dir / DATABASE_NAME
    replaced = database.exists()
    for path in (database, *(Path(f"{database}{suffix}") for suffix in _DATABASE_COMPANIONS)):
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            raise DataDirError(
                f"cannot remove the previous demo database {path}: {error.strerror or error}"
            ) from None
    return database, replaced


@contextlib.contextmanager
def start_demo(
    *,
    fixture_path: Path | None = None,
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    sandbox_port: int = 0,
    today: dt.date | None = None,
) -> Iterator[DemoRun]:
    """Serve the sandboxes and the app on background threads until the block ends.

    ``fixture_path`` None: the built-in demo fixture. Port 0 picks a free port; the URLs name the
    ones bound. The app migrates its fresh database before the block starts and closes its
    services when it ends. Raises :class:`FixtureError` for an unusable fixture,
    :class:`DataDirError` for an unusable data directory and :class:`DemoError` when a server
    does not start (a port in use, say).
    """
    from psasync.web.app import create_app  # the web layer loads only for the demo that serves it

    fixture = load_fixture(fixture_path or DEMO_FIXTURE)
    sandbox = build_sandbox(fixture)
    with contextlib.ExitStack() as running:
        sandbox_url = reachable_url(_serve(running, sandbox.app, host=host, port=sandbox_port))
        database, replaced = fresh_database(data_dir.resolve())
        settings = demo_settings(
            fixture,
            sandbox_url=sandbox_url,
            database=database,
            today=today or dt.datetime.now(dt.UTC).date(),
            secret_key=secrets.token_urlsafe(32),
        )
        app = create_app(settings, background=job_engine)
        app_url = reachable_url(_serve(running, app, host=host, port=port, lifespan="on"))
        yield DemoRun(
            app_url=app_url,
            sandbox_url=sandbox_url,
            database=database,
            replaced_database=replaced,
            settings=settings,
            logins=demo_logins(fixture),
            integration_users=demo_integration_users(fixture),
            connectwise=connectwise_credentials(fixture, site_url=sandbox_url),
            autotask=autotask_credentials(fixture),
        )


def _serve(
    stack: contextlib.ExitStack,
    app: ASGIApp,
    *,
    host: str,
    port: int,
    lifespan: Literal["on", "off"] = "off",
) -> str:
    try:
        return stack.enter_context(serve_in_thread(app, host=host, port=port, lifespan=lifespan))
    except RuntimeError as error:
        raise DemoError(str(error)) from None


def show_demo(console: Console, run: DemoRun) -> None:
    """Print where the demo is, how to log in and what to type into the ConnectWise settings."""

    def say(text: str = "") -> None:
        console.print(text, soft_wrap=True, highlight=False)

    if run.replaced_database:
        say(
            f"Removed the previous demo database {escape(str(run.database))}: the sandboxes "
            "start from the fixture on every run, so the database starts empty too."
        )
    say(f"Database: {escape(str(run.database))} (empty, migrated)")
    say(f"ConnectWise sandbox: {run.sandbox_url}")
    if run.autotask:
        say(f"Autotask sandbox: {run.sandbox_url}/atservicesrest/")
    for marketplace in run.settings.marketplaces:
        say(f"{escape(marketplace.name)} sandbox: {marketplace.url}")
    say()
    say(f"[bold]Open {run.login_url} and log in as a reseller:[/bold]")
    for login in run.logins:
        say(
            f"  {escape(login.reseller)} on {escape(login.marketplace)}: "
            f"username {escape(login.username)}, password {escape(login.password)}"
        )
    say()
    for login in run.integration_users:
        say(
            f"[bold]To run it unattended[/bold] (scheduled checks, auto-sync): on the automation "
            f"page, set the integration user of {escape(login.reseller)}: username "
            f"{escape(login.username)}, password {escape(login.password)}"
        )
    if run.integration_users:
        say()
    if not run.connectwise:
        say("The fixture has no ConnectWise credentials: ConnectWise cannot be connected.")
    for credentials in run.connectwise:
        say("[bold]Then, under ConnectWise settings, enter:[/bold]")
        _show_credentials(say, credentials)
    for autotask in run.autotask:
        owner = autotask.reseller
        who = f" (for {escape(owner)}, whose PSA is Autotask)" if owner else ""
        say(f"[bold]Under PSA Integrations → Autotask → Manage{who}, enter:[/bold]")
        say(f"  {'API user name':<17} {escape(autotask.username)}")
        say(f"  {'Secret':<17} {escape(autotask.secret)}")
        say(f"  {'Integration code':<17} {escape(autotask.integration_code)}")
        say(f"  {'Zone URL':<17} (leave empty: found by zone discovery at the sandbox)")
    say()
    say("Ctrl+C stops it.")


def _show_credentials(say: Callable[[str], None], credentials: ConnectWiseCredentials) -> None:
    rows = [
        ("Site URL", credentials.site_url),
        ("Company ID", credentials.company_id),
        ("Public key", credentials.public_key),
        ("Private key", credentials.private_key),
        ("Client ID", credentials.client_id),
    ]
    for name, value in rows:
        say(f"  {name:<12} {escape(value)}")


def wait_for_stop(
    *,
    stop: threading.Event | None = None,
    signals: Sequence[signal.Signals] = (signal.SIGINT, signal.SIGTERM),
) -> None:
    """Block until one of ``signals`` arrives (or ``stop`` is set); the handlers are restored.

    Must run on the main thread (only it receives signals).
    """
    stopped = stop or threading.Event()

    def handle(_signum: int, _frame: object) -> None:
        stopped.set()

    previous = {number: signal.signal(number, handle) for number in signals}
    try:
        while not stopped.wait(0.2):
            pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
