"""handoff announcements go through the delivery outbox

Revision ID: 0005
Revises: 0003, 0004
Create Date: 2026-11-26
"""

from migrations.sql import execute_script

revision = "0005"
down_revision = ("0003", "0004")
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        -- an announcement is a message of its own: no incident, no timeline entry, sent once per target
        ALTER TABLE deliveries
            ALTER COLUMN incident_id DROP NOT NULL,
            ALTER COLUMN first_event_id DROP NOT NULL,
            ALTER COLUMN event_id DROP NOT NULL,
            ADD COLUMN announcement_id bigint REFERENCES handoff_announcements (id),
            DROP CONSTRAINT deliveries_kind_check,
            ADD CONSTRAINT deliveries_kind_check CHECK (kind IN ('open', 'update', 'announce')),
            ADD CONSTRAINT deliveries_subject CHECK (
                CASE WHEN kind = 'announce'
                     THEN announcement_id IS NOT NULL AND incident_id IS NULL
                     ELSE announcement_id IS NULL AND incident_id IS NOT NULL
                          AND first_event_id IS NOT NULL AND event_id IS NOT NULL
                END);
        CREATE UNIQUE INDEX deliveries_one_announce ON deliveries (announcement_id, channel, target)
            WHERE kind = 'announce';
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DELETE FROM deliveries WHERE kind = 'announce';
        DROP INDEX deliveries_one_announce;
        ALTER TABLE deliveries
            DROP CONSTRAINT deliveries_subject,
            DROP CONSTRAINT deliveries_kind_check,
            ADD CONSTRAINT deliveries_kind_check CHECK (kind IN ('open', 'update')),
            DROP COLUMN announcement_id,
            ALTER COLUMN incident_id SET NOT NULL,
            ALTER COLUMN first_event_id SET NOT NULL,
            ALTER COLUMN event_id SET NOT NULL;
        """
    )
