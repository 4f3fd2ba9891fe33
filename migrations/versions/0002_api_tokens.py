"""API tokens, and the indexes of the REST API's lists and statistics

Revision ID: 0002_api_tokens
Revises: 0001
Create Date: 2026-11-26
"""

from migrations.sql import execute_script

revision = "0002_api_tokens"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE api_tokens (
            id           bigserial PRIMARY KEY,
            name         text        NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
            role         text        NOT NULL CHECK (role IN ('viewer', 'responder', 'admin')),
            user_id      text,
            token_hash   text        NOT NULL UNIQUE,   -- hex SHA-256; the token itself is never stored
            created_at   timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz,
            revoked_at   timestamptz
        );

        -- sort=severity and sort=status of the incident list (keyset on rank, created_at, id, all descending)
        CREATE INDEX incidents_severity_rank_created ON incidents (
            (CASE severity WHEN 'critical' THEN 4 WHEN 'error' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END) DESC,
            created_at DESC, id DESC);
        CREATE INDEX incidents_status_rank_created ON incidents (
            (CASE status WHEN 'triggered' THEN 3 WHEN 'acknowledged' THEN 2 ELSE 1 END) DESC,
            created_at DESC, id DESC);
        -- statistics: a window of created_at read from the index alone (index-only scan), and
        -- resolutions per day; the key order also serves the list's default sort
        CREATE INDEX incidents_stats ON incidents (created_at DESC, id DESC)
            INCLUDE (status, severity, triggered_at, acknowledged_at, resolved_at);
        CREATE INDEX incidents_resolved_at ON incidents (resolved_at) WHERE resolved_at IS NOT NULL;
        -- alert list filtered by fingerprint, newest first
        CREATE INDEX alerts_fingerprint_id ON alerts (fingerprint, id DESC);

        -- q= text search over title and summary: a trigram index where pg_trgm is available
        -- (the query, ILIKE, is correct without it, only slower)
        DO $$
        BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
            CREATE INDEX incidents_text_trgm ON incidents
                USING gin ((title || ' ' || summary) gin_trgm_ops);
        EXCEPTION WHEN others THEN
            RAISE NOTICE 'pg_trgm unavailable (%): q= searches without an index', SQLERRM;
        END
        $$;
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP INDEX IF EXISTS incidents_text_trgm;
        DROP INDEX alerts_fingerprint_id;
        DROP INDEX incidents_resolved_at;
        DROP INDEX incidents_stats;
        DROP INDEX incidents_status_rank_created;
        DROP INDEX incidents_severity_rank_created;
        DROP TABLE api_tokens;
        """
    )
