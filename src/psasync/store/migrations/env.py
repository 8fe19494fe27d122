"""Alembic environment: migrations always run on a connection psasync hands over."""

from __future__ import annotations

from alembic import context

from psasync.store.models import Base, owned_by_psasync

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `psasync db upgrade`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=owned_by_psasync,
)
with context.begin_transaction():
    context.run_migrations()
