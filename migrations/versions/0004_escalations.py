"""escalation state per incident; handoff announcements made once

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-26
"""

from migrations.sql import execute_script

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE incident_escalations (
            incident_id  bigint      PRIMARY KEY REFERENCES incidents (id),
            policy_id    text        NOT NULL,
            -- when the incident was created or last reopened: every step's delay counts from here
            triggered_at timestamptz NOT NULL,
            fired_count  integer     NOT NULL DEFAULT 0 CHECK (fired_count >= 0),
            -- the earliest instant the scheduler looks at this row again (NULL once stopped or done)
            next_due_at  timestamptz,
            state        text        NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'stopped', 'done')),
            updated_at   timestamptz NOT NULL DEFAULT now()
        );
        -- the scheduler's claim: active rows in order of due time
        CREATE INDEX incident_escalations_due ON incident_escalations (next_due_at) WHERE state = 'active';

        -- one row per handoff announced: the unique key makes one replica the announcer, and the row
        -- is the announcement the delivery layer sends to the schedule's channels
        CREATE TABLE handoff_announcements (
            id            bigserial   PRIMARY KEY,
            schedule_id   text        NOT NULL,
            handoff_at    timestamptz NOT NULL,
            user_id       text,
            until         timestamptz,
            slack_channel text,
            telegram_chat text,
            message       text        NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT handoff_announcements_once UNIQUE (schedule_id, handoff_at)
        );
        """
    )


def downgrade() -> None:
    execute_script("DROP TABLE handoff_announcements; DROP TABLE incident_escalations;")
