"""heartbeats, acknowledgement timers, maintenance windows and flapping groups; incidents in maintenance or flapping

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from migrations.sql import execute_script

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        -- the window an open incident is in (no escalation, no pages; the config's or maintenance_windows' id),
        -- and whether its group is flapping (quiet until stable)
        ALTER TABLE incidents ADD COLUMN maintenance_id text, ADD COLUMN flapping boolean NOT NULL DEFAULT false;
        -- the release and settle jobs look only at these (few) open incidents
        CREATE INDEX incidents_in_maintenance ON incidents (id) WHERE maintenance_id IS NOT NULL AND status <> 'resolved';

        -- a reopening resumes the escalation where it stopped: the claim re-plans it from this instant
        ALTER TABLE incident_escalations ADD COLUMN resume_at timestamptz;

        -- one row per heartbeat pinged or muted (heartbeats themselves are declared in the config)
        CREATE TABLE heartbeats (
            id           text        PRIMARY KEY,
            last_seen_at timestamptz,            -- NULL: muted before its first ping
            down_since   timestamptz,            -- when its missing alert started; NULL while it is not firing
            muted_until  timestamptz,
            muted_by     text,
            updated_at   timestamptz NOT NULL DEFAULT now()
        );

        -- an acknowledged incident's lapse (ack_timeout or a snooze's end) and reminders
        CREATE TABLE incident_acks (
            incident_id      bigint      PRIMARY KEY REFERENCES incidents (id),
            acknowledged_at  timestamptz NOT NULL,   -- the acknowledgement these timers belong to
            snoozed_until    timestamptz,
            planned          boolean     NOT NULL DEFAULT false,  -- lapse and reminder read from the config
            lapses_at        timestamptz,
            next_reminder_at timestamptz,
            next_due_at      timestamptz,            -- when the scheduler looks again; NULL: nothing left to do
            updated_at       timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX incident_acks_due ON incident_acks (next_due_at) WHERE next_due_at IS NOT NULL;

        -- windows made through the API or chat (the config's live in the config file)
        CREATE SEQUENCE maintenance_window_numbers;
        CREATE TABLE maintenance_windows (
            id          text        PRIMARY KEY,     -- mw-N
            matchers    text[]      NOT NULL CHECK (cardinality(matchers) > 0),
            starts_at   timestamptz NOT NULL,
            ends_at     timestamptz NOT NULL,
            silence     boolean     NOT NULL DEFAULT false,
            silence_ids text[]      NOT NULL DEFAULT '{}',
            comment     text        NOT NULL DEFAULT '',
            created_by  text        NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now(),
            ended_by    text,                        -- who ended it before its time
            CHECK (ends_at > starts_at)
        );
        -- the ingest's one lookup per transaction: windows not yet over
        CREATE INDEX maintenance_windows_ends ON maintenance_windows (ends_at);

        -- the Alertmanager silence of each occurrence of a config window with silence: true, made once
        CREATE TABLE maintenance_silences (
            window_id     text        NOT NULL,
            starts_at     timestamptz NOT NULL,
            ends_at       timestamptz NOT NULL,
            silence_id    text,
            claimed_until timestamptz,
            PRIMARY KEY (window_id, starts_at)
        );

        -- a group's latest state changes (opened, resolved, reopened) and whether it is flapping
        CREATE TABLE group_flaps (
            group_key      text        PRIMARY KEY,
            route_id       text        NOT NULL,
            changes        timestamptz[] NOT NULL DEFAULT '{}',
            flapping_since timestamptz,
            updated_at     timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX group_flaps_flapping ON group_flaps (group_key) WHERE flapping_since IS NOT NULL;
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP TABLE group_flaps; DROP TABLE maintenance_silences; DROP TABLE maintenance_windows;
        DROP SEQUENCE maintenance_window_numbers; DROP TABLE incident_acks; DROP TABLE heartbeats;
        ALTER TABLE incident_escalations DROP COLUMN resume_at;
        DROP INDEX incidents_in_maintenance;
        ALTER TABLE incidents DROP COLUMN maintenance_id, DROP COLUMN flapping;
        """
    )
