"""the delivery outbox and each incident's channels

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-26
"""

from migrations.sql import execute_script

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        -- the channels fixed when the incident opened: {"email": [..], "slack": "C..", "telegram": [..]}
        ALTER TABLE incidents ADD COLUMN channels jsonb NOT NULL DEFAULT '{}';

        -- one row per message to send: incident x channel x target (an address, a Slack channel, a chat)
        CREATE TABLE deliveries (
            id              bigserial PRIMARY KEY,
            incident_id     bigint      NOT NULL REFERENCES incidents (id),
            channel         text        NOT NULL,
            target          text        NOT NULL,
            kind            text        NOT NULL CHECK (kind IN ('open', 'update')),
            state           text        NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
            first_event_id  bigint      NOT NULL REFERENCES incident_events (id),
            event_id        bigint      NOT NULL REFERENCES incident_events (id),
            event_kind      text        NOT NULL,
            attempts        integer     NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            claimed_until   timestamptz,
            claim_token     uuid,
            last_error      text,
            external_ref    text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now(),
            sent_at         timestamptz
        );
        -- one live open message per stream; a failed one may be followed by a new one
        CREATE UNIQUE INDEX deliveries_one_open ON deliveries (incident_id, channel, target)
            WHERE kind = 'open' AND state <> 'failed';
        -- coalescing: at most one waiting update per stream, bumped by later changes
        CREATE UNIQUE INDEX deliveries_one_pending_update ON deliveries (incident_id, channel, target)
            WHERE kind = 'update' AND state = 'pending';
        -- the claim query and the sweep: only unfinished rows, by due time
        CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state IN ('pending', 'sending');
        -- counts for /metrics and the dashboard
        CREATE INDEX deliveries_unfinished ON deliveries (channel, state) WHERE state <> 'sent';
        -- an incident's delivery status, and the stream checks of the claim query
        CREATE INDEX deliveries_stream ON deliveries (incident_id, channel, target, id);
        """
    )


def downgrade() -> None:
    execute_script("DROP TABLE deliveries; ALTER TABLE incidents DROP COLUMN channels;")
