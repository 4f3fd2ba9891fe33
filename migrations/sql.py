"""Run a whole SQL script (several statements) on the migration's asyncpg connection."""

from __future__ import annotations

from alembic import op
from sqlalchemy.util import await_only


def execute_script(sql: str) -> None:
    """Execute explicit SQL through asyncpg's simple query protocol, inside alembic's transaction."""
    driver = op.get_bind().connection.dbapi_connection.driver_connection  # type: ignore[union-attr]
    await_only(driver.execute(sql))
