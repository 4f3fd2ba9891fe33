"""incidents keep the issues opened for them in other systems (Jira): key and link, shown by every channel

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-12
"""

from migrations.sql import execute_script

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        -- [{"system": "jira", "key": "OPS-12", "url": "https://jira.example.com/browse/OPS-12"}]
        ALTER TABLE incidents ADD COLUMN tickets jsonb NOT NULL DEFAULT '[]';
        """
    )


def downgrade() -> None:
    execute_script("ALTER TABLE incidents DROP COLUMN tickets;")
