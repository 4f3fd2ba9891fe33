"""SLA breaches recorded once, post-mortems, response templates and checklists

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from migrations.sql import execute_script

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        -- one row per breach of one trigger of an incident: the key makes one replica the recorder
        CREATE TABLE sla_breaches (
            id           bigserial   PRIMARY KEY,
            incident_id  bigint      NOT NULL REFERENCES incidents (id),
            kind         text        NOT NULL CHECK (kind IN ('ack', 'resolve')),
            triggered_at timestamptz NOT NULL,
            due_at       timestamptz NOT NULL,
            route_id     text        NOT NULL,
            event_id     bigint      REFERENCES incident_events (id),
            created_at   timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT sla_breaches_once UNIQUE (incident_id, kind, triggered_at)
        );

        -- the SLA report: a window of created_at read from the index alone (index-only scan), with what the
        -- report groups and measures by
        CREATE INDEX incidents_sla_report ON incidents (created_at)
            INCLUDE (route_id, severity, triggered_at, acknowledged_at, resolved_at);

        -- the review of a resolved incident; version backs the ETag (0: nothing stored yet)
        CREATE TABLE postmortems (
            incident_id  bigint      PRIMARY KEY REFERENCES incidents (id),
            status       text        NOT NULL CHECK (status IN ('draft', 'published')),
            markdown     text        NOT NULL,
            version      integer     NOT NULL CHECK (version >= 1),
            created_by   text        NOT NULL,
            updated_by   text        NOT NULL,
            created_at   timestamptz NOT NULL,
            updated_at   timestamptz NOT NULL,
            published_at timestamptz
        );
        -- the list of reviews awaiting publication
        CREATE INDEX postmortems_drafts ON postmortems (updated_at DESC) WHERE status = 'draft';

        -- the response template an incident was opened from, and its checklist
        CREATE TABLE incident_templates (
            incident_id bigint      PRIMARY KEY REFERENCES incidents (id),
            template_id text        NOT NULL,
            runbooks    jsonb       NOT NULL DEFAULT '[]',
            applied_at  timestamptz NOT NULL
        );
        CREATE TABLE checklist_items (
            incident_id bigint      NOT NULL REFERENCES incidents (id),
            position    integer     NOT NULL CHECK (position >= 1),
            text        text        NOT NULL,
            done_at     timestamptz,
            done_by     text,
            PRIMARY KEY (incident_id, position)
        );
        """
    )


def downgrade() -> None:
    execute_script(
        "DROP TABLE checklist_items; DROP TABLE incident_templates; DROP TABLE postmortems; DROP TABLE sla_breaches; "
        "DROP INDEX incidents_sla_report;"
    )
