"""Alembic environment: runs migrations on asyncpg (through SQLAlchemy's asyncpg dialect) under an advisory lock."""

from __future__ import annotations

import asyncio
import os

import asyncpg
from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

# Several replicas may start at once: only one migrates, the others wait and then find nothing to do.
MIGRATION_LOCK_ID = 727_001


def _run(connection: Connection) -> None:
    connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_ID})")
    connection.commit()
    try:
        context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})")
        connection.commit()


async def _main(dsn: str) -> None:
    engine = create_async_engine(
        "postgresql+asyncpg://", async_creator=lambda: asyncpg.connect(dsn), poolclass=pool.NullPool
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: the SQL is in migrations/versions/")


def _dsn() -> str:
    """`tocsin migrate` hands the URL over; plain `alembic` reads sqlalchemy.url or DATABASE_URL."""
    dsn = context.config.attributes.get("dsn") or context.config.get_main_option("sqlalchemy.url") or ""
    dsn = dsn or os.environ.get("DATABASE_URL", "")
    if not dsn:
        raise SystemExit("no database: set DATABASE_URL (or sqlalchemy.url in alembic.ini)")
    return dsn.replace("postgresql+asyncpg://", "postgresql://", 1)


asyncio.run(_main(_dsn()))
