"""a repeated alert's receipt is written apart from the alert, so a resent group writes no alert row

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from migrations.sql import execute_script

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        -- The receipts of an alert's repeats (Alertmanager resends every group each group_interval): narrow rows
        -- updated in place (fillfactor 50 leaves room for that), so a resend of thousands writes no alert row and
        -- none of the alerts' eight indexes. No foreign key: alerts are never deleted, and the key's check would
        -- lock (and so write) the alert row each time.
        CREATE TABLE alert_receipts (
            alert_id         bigint      PRIMARY KEY,  -- alerts.id
            last_received_at timestamptz NOT NULL,
            repeats          integer     NOT NULL CHECK (repeats > 0)
        ) WITH (fillfactor = 50);

        -- alerts as shown: received when stored or changed (alerts) or repeated (alert_receipts), whichever is last
        CREATE VIEW alerts_seen AS
        SELECT a.id, a.incident_id, a.fingerprint, a.starts_at, a.ends_at, a.status, a.labels, a.annotations,
               a.generator_url, a.created_at, a.updated_at,
               greatest(a.last_received_at, r.last_received_at) AS last_received_at,
               a.receive_count + coalesce(r.repeats, 0) AS receive_count
        FROM alerts a LEFT JOIN alert_receipts r ON r.alert_id = a.id;
        """
    )


def downgrade() -> None:
    execute_script(
        """
        UPDATE alerts a SET last_received_at = greatest(a.last_received_at, r.last_received_at),
                            receive_count = a.receive_count + r.repeats
        FROM alert_receipts r WHERE r.alert_id = a.id;
        DROP VIEW alerts_seen;
        DROP TABLE alert_receipts;
        """
    )
