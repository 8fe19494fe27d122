"""What the operator commands of the CLI share: settings and the marketplace password, and a
logged-in session on freshly built :class:`Services`.

The commands themselves (``psasync check-changes``, ``tasks``, ``sync``, ``db upgrade``) live in
``operations.py``; the tables and JSON they print are in ``output.py``; the bulk sync they run
is a use case (:mod:`psasync.services.bulk_sync`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from psasync.adapters.marketplace import ResellerAccount
from psasync.config import Settings
from psasync.services import Actor, Services, auth
from psasync.store import DatabaseError, tenants

PASSWORD_ENV = "PSASYNC_MARKETPLACE_PASSWORD"  # noqa: S105 - a variable name, no secret
USERNAME_ENV = "PSASYNC_MARKETPLACE_USERNAME"


class UsageProblem(Exception):
    """The command cannot run as invoked (configuration, options, no password): exit code 2."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


# Settings, the marketplace and the password -----------------------------------------------------


def load_settings() -> Settings:
    """The PSASYNC_* settings; invalid ones are a :class:`UsageProblem` naming the variable."""
    try:
        return Settings()
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "settings"
            problems.append(f"PSASYNC_{where.upper()}: {problem['msg']}")
        raise UsageProblem(
            "The configuration is invalid: " + "; ".join(problems),
            hint="`psasync config` shows the effective settings.",
        ) from None


def marketplace_code(settings: Settings, given: str | None) -> str:
    """``--marketplace``, or the only configured marketplace when it is left out."""
    if given:
        return given
    codes = [marketplace.code for marketplace in settings.marketplaces]
    if len(codes) == 1:
        return codes[0]
    known = ", ".join(codes) or "none configured in PSASYNC_MARKETPLACES"
    raise UsageProblem(f"Name the marketplace with --marketplace ({known}).")


def marketplace_password() -> str:
    """The reseller user's password: ``PSASYNC_MARKETPLACE_PASSWORD``, else asked for with hidden
    input on a terminal, else the first line piped to stdin. None of them: :class:`UsageProblem`."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    missing = UsageProblem(
        f"No marketplace password: set {PASSWORD_ENV}, pipe it to stdin, or run the command "
        "in a terminal to be asked for it."
    )
    stdin = sys.stdin
    if stdin is None or stdin.closed:
        raise missing
    if stdin.isatty():
        try:
            password: str = typer.prompt("Marketplace password", hide_input=True)
        except (typer.Abort, EOFError):
            raise missing from None
    else:
        password = stdin.readline().rstrip("\r\n")
    if not password:
        raise missing
    return password


@dataclass(frozen=True)
class Login:
    """Who runs an operator command: ``--marketplace``, ``--username`` and the password."""

    marketplace: str | None
    username: str
    password: str = field(repr=False)


def create_services(settings: Settings) -> Services:
    """``Services.create``; an unusable database URL is a :class:`UsageProblem`."""
    try:
        return Services.create(settings)
    except DatabaseError as error:
        raise UsageProblem(str(error)) from None


@asynccontextmanager
async def migrated_services(settings: Settings) -> AsyncIterator[Services]:
    """Services on a database migrated to the head, closed on the way out."""
    services = create_services(settings)
    try:
        await upgrade(services)
        yield services
    finally:
        await services.aclose()


async def upgrade(services: Services) -> tuple[str | None, str | None]:
    """Migrate the database to the head: the revisions before and after."""
    try:
        before = await services.db.revision()
        await services.db.upgrade()
        return before, await services.db.revision()
    except (DatabaseError, SQLAlchemyError) as error:
        raise UsageProblem(
            f"The database cannot be migrated: {error}",
            hint="Check PSASYNC_DATABASE_URL (`psasync config` shows it).",
        ) from None


@asynccontextmanager
async def logged_in(settings: Settings, login: Login) -> AsyncIterator[tuple[Services, Actor]]:
    """Migrated services and the user as an :class:`Actor`, reading with their own marketplace
    session: the marketplace checks the password, psasync records the tenant. A command opens
    no psasync session (nothing stored, no cookie): it ends with the process."""
    code = marketplace_code(settings, login.marketplace)
    async with migrated_services(settings) as services:
        marketplace = await auth.marketplace_login(
            services, marketplace=code, username=login.username, password=login.password
        )
        tenant_id = await _record_tenant(services, marketplace.reseller)
        yield services, Actor(tenant_id=tenant_id, name=login.username, marketplace=marketplace)


async def _record_tenant(services: Services, reseller: ResellerAccount) -> int:
    """The reseller account's tenant id, recorded on its first login (as ``auth.login`` does)."""
    async with services.db.session() as session:
        tenant = await tenants.upsert_tenant(
            session,
            marketplace=reseller.marketplace,
            reseller_id=reseller.id,
            name=reseller.name,
            currency=reseller.currency,
            now=services.now(),
        )
        return tenant.id
