"""authentication failures per client, for throttling (rows expire with their window)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from migrations.sql import execute_script

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        -- one row per client address (IPv6: its /64) that failed to authenticate within its window;
        -- the window starts at the first failure and the row is deleted once it has ended
        CREATE TABLE auth_failures (
            client     text        PRIMARY KEY CHECK (length(client) <= 64),
            failures   integer     NOT NULL CHECK (failures > 0),
            expires_at timestamptz NOT NULL
        );
        CREATE INDEX auth_failures_expires_at ON auth_failures (expires_at);
        """
    )


def downgrade() -> None:
    execute_script("DROP TABLE auth_failures;")
