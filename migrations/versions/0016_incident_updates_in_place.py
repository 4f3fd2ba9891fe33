"""ingest rewrites an open incident in place: no indexed column changes with each alert

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from migrations.sql import execute_script

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        r"""
        -- Ingest rewrites an open incident's row each time its alerts change. When no indexed column changes that
        -- is a heap-only update: the new version on the same page (fillfactor 70 leaves room for it) and no index
        -- written; otherwise all sixteen indexes get an entry, and lookups step over the dead ones. Two indexed
        -- columns changed every time: updated_at (the list's sort=-updated_at) and summary ("... (and 41 more)",
        -- in the text-search index). The sort now goes by the minute (then updated_at and id, sorted within the
        -- minute), and the search by the summary without its count.
        ALTER TABLE incidents SET (fillfactor = 70);
        ALTER TABLE incidents
            ADD COLUMN updated_minute bigint GENERATED ALWAYS AS (
                floor(date_part('epoch', updated_at - '1970-01-01 00:00:00+00'::timestamptz) / 60)::bigint
            ) STORED,
            ADD COLUMN search_text text GENERATED ALWAYS AS (
                title || ' ' || regexp_replace(summary, ' \(and [0-9]+ more\)$', '')
            ) STORED;
        DROP INDEX incidents_updated;
        CREATE INDEX incidents_updated ON incidents (updated_minute DESC);
        DROP INDEX IF EXISTS incidents_text_trgm;
        DO $$
        BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
            CREATE INDEX incidents_text_trgm ON incidents USING gin (search_text gin_trgm_ops);
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
        DROP INDEX incidents_updated;
        ALTER TABLE incidents DROP COLUMN updated_minute, DROP COLUMN search_text;
        ALTER TABLE incidents RESET (fillfactor);
        CREATE INDEX incidents_updated ON incidents (updated_at DESC, id DESC);
        DO $$
        BEGIN
            CREATE INDEX incidents_text_trgm ON incidents USING gin ((title || ' ' || summary) gin_trgm_ops);
        EXCEPTION WHEN others THEN
            RAISE NOTICE 'pg_trgm unavailable (%): q= searches without an index', SQLERRM;
        END
        $$;
        """
    )
