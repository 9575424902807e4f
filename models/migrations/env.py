"""Alembic environment: always given a live connection by models.migrate (never a URL)."""

from __future__ import annotations

from alembic import context

from jiandu.models.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "jiandu's migrations run through `jiandu db upgrade` (models.migrate), "
        "not the alembic command line"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
