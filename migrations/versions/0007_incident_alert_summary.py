"""incidents keep a summary of their alerts; an index finds an incident's oldest firing alert

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from migrations.sql import execute_script

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        -- counts per severity, shared annotations, first alert names, the representative alert
        -- (store/domain/derived.py); NULL until the incident's next change, which computes it once
        ALTER TABLE incidents ADD COLUMN derived jsonb;
        -- the representative alert: an incident's oldest alert still firing
        CREATE INDEX alerts_incident_firing ON alerts (incident_id, id) WHERE status = 'firing';
        """
    )


def downgrade() -> None:
    execute_script("DROP INDEX alerts_incident_firing; ALTER TABLE incidents DROP COLUMN derived;")
