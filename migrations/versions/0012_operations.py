"""operations: config versions, schedule overrides, the audit trail, the shared session key

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from migrations.sql import execute_script

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        -- every config file applied (tocsin config apply, SIGHUP, the file watch, tocsin serve): the newest wins
        CREATE TABLE config_versions (
            version     bigserial   PRIMARY KEY,
            body        text        NOT NULL,
            sha256      text        NOT NULL,
            source      text        NOT NULL,   -- the file's path as given
            applied_by  text        NOT NULL,
            applied_via text        NOT NULL,   -- cli, api, sighup, watch, serve
            applied_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX config_versions_sha256 ON config_versions (sha256);

        -- overrides made without the file (API, chat, CLI); a deleted one is kept for the record
        CREATE TABLE schedule_overrides (
            id          bigserial   PRIMARY KEY,
            schedule_id text        NOT NULL,
            user_id     text        NOT NULL,
            starts_at   timestamptz NOT NULL,
            ends_at     timestamptz NOT NULL CHECK (ends_at > starts_at),
            created_by  text        NOT NULL,
            created_via text        NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now(),
            deleted_at  timestamptz,
            deleted_by  text,
            deleted_via text
        );
        CREATE INDEX schedule_overrides_live ON schedule_overrides (schedule_id, ends_at) WHERE deleted_at IS NULL;

        -- who changed what outside incidents (config versions, overrides, tokens), when and through which channel
        CREATE TABLE audit_log (
            id         bigserial   PRIMARY KEY,
            actor      text        NOT NULL,
            source     text        NOT NULL,
            action     text        NOT NULL,
            subject    text        NOT NULL,
            data       jsonb       NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX audit_log_created ON audit_log (created_at DESC, id DESC);

        -- secrets every replica shares, made once on first use (the dashboard's session signing key)
        CREATE TABLE shared_secrets (
            name       text        PRIMARY KEY,
            value      text        NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP TABLE shared_secrets;
        DROP TABLE audit_log;
        DROP TABLE schedule_overrides;
        DROP TABLE config_versions;
        """
    )
