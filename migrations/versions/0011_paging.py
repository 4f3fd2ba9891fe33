"""paging: each paged person's notification rules, used one-tap links, the per-number send limit

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10
"""

from migrations.sql import execute_script

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        -- one row per person an escalation step paged who has notification rules: the rules fire in order
        -- from started_at, each claimed once (FOR UPDATE SKIP LOCKED), until the incident is acknowledged
        CREATE TABLE user_pages (
            incident_id bigint      NOT NULL REFERENCES incidents (id),
            user_id     text        NOT NULL,
            started_at  timestamptz NOT NULL,
            fired_count integer     NOT NULL DEFAULT 0 CHECK (fired_count >= 0),
            next_due_at timestamptz,
            state       text        NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'stopped', 'done')),
            updated_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (incident_id, user_id)
        );
        CREATE INDEX user_pages_due ON user_pages (next_due_at) WHERE state = 'active';

        -- a one-tap link acts once: its id is recorded in the transaction that acts
        CREATE TABLE used_action_links (
            link_id     text        PRIMARY KEY,
            incident_id bigint      NOT NULL,
            user_id     text        NOT NULL,
            action      text        NOT NULL,
            channel     text        NOT NULL,
            used_at     timestamptz NOT NULL DEFAULT now(),
            expires_at  timestamptz NOT NULL
        );
        CREATE INDEX used_action_links_expiry ON used_action_links (expires_at);

        -- at most one text or call a minute per phone number, across replicas
        CREATE TABLE phone_sends (
            number       text        PRIMARY KEY,
            last_sent_at timestamptz NOT NULL
        );

        -- a Pushover callback names the receipt of the emergency message it is about
        CREATE INDEX deliveries_pushover_receipt ON deliveries (external_ref) WHERE channel = 'pushover';
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP INDEX deliveries_pushover_receipt;
        DROP TABLE phone_sends;
        DROP TABLE used_action_links;
        DROP TABLE user_pages;
        """
    )
