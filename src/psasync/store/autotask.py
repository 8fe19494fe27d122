"""A tenant's Autotask settings, and the switch between its PSAs (one at a time, DESIGN §11)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from psasync.store.models import (
    AutotaskSettings,
    ConnectWiseSettings,
    CustomerMapping,
    ProductMapping,
)

# Read by every plan (whichever PSA the tenant uses), so built once.
_GET_SETTINGS = select(AutotaskSettings).where(AutotaskSettings.tenant_id == bindparam("tenant"))


async def autotask_settings(session: AsyncSession, tenant_id: int) -> AutotaskSettings | None:
    return (await session.scalars(_GET_SETTINGS, {"tenant": tenant_id})).first()


async def save_autotask_settings(
    session: AsyncSession, tenant_id: int, values: Mapping[str, object]
) -> AutotaskSettings:
    """Create or replace the tenant's Autotask settings with ``values`` (column → value)."""
    settings = await session.get(AutotaskSettings, tenant_id)
    if settings is None:
        settings = AutotaskSettings(tenant_id=tenant_id)
        session.add(settings)
    for name, value in values.items():
        setattr(settings, name, value)
    await session.flush()
    return settings


async def forget_psa(session: AsyncSession, tenant_id: int) -> None:
    """Forget the tenant's PSA before it switches to the other one: both PSAs' settings and the
    customer and product mappings (their ids are the old PSA's records). Tasks, runs and the
    journal stay: they are the history."""
    for model in (ConnectWiseSettings, AutotaskSettings, CustomerMapping, ProductMapping):
        await session.execute(delete(model).where(model.tenant_id == tenant_id))
    await session.flush()
