"""the SLA report reads each incident's week, durations and team from generated columns in its covering index

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from migrations.sql import execute_script

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        -- computed when a row is written, so the report does no date arithmetic per incident: the week (UTC,
        -- from Monday; week 0 starts on Monday 1970-01-05) and the seconds to answer (acknowledge, else
        -- resolve), to acknowledge and to resolve, NULL while not reached; the team label
        ALTER TABLE incidents
            ADD COLUMN sla_week integer GENERATED ALWAYS AS (
                floor(date_part('epoch', created_at - '1970-01-05 00:00:00+00'::timestamptz) / 604800)::integer
            ) STORED,
            ADD COLUMN sla_answered_secs double precision GENERATED ALWAYS AS (
                date_part('epoch', coalesce(acknowledged_at, resolved_at) - triggered_at)
            ) STORED,
            ADD COLUMN sla_ack_secs double precision GENERATED ALWAYS AS (
                date_part('epoch', acknowledged_at - triggered_at)
            ) STORED,
            ADD COLUMN sla_resolve_secs double precision GENERATED ALWAYS AS (
                date_part('epoch', resolved_at - triggered_at)
            ) STORED,
            ADD COLUMN label_team text GENERATED ALWAYS AS (labels ->> 'team') STORED;

        -- the SLA report: a window of weeks and created_at read from the index alone (index-only scan), in week
        -- order, with everything it groups and measures by (fixed-width columns first: cheaper to read)
        DROP INDEX incidents_sla_report;
        CREATE INDEX incidents_sla_report ON incidents (sla_week, created_at)
            INCLUDE (triggered_at, sla_answered_secs, sla_ack_secs, sla_resolve_secs, route_id, severity, label_team);
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP INDEX incidents_sla_report;
        ALTER TABLE incidents DROP COLUMN sla_week, DROP COLUMN sla_answered_secs, DROP COLUMN sla_ack_secs,
            DROP COLUMN sla_resolve_secs, DROP COLUMN label_team;
        CREATE INDEX incidents_sla_report ON incidents (created_at)
            INCLUDE (route_id, severity, triggered_at, acknowledged_at, resolved_at);
        """
    )
