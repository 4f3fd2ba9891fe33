"""incidents, alerts and the timeline

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from migrations.sql import execute_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE incidents (
            id                 bigserial PRIMARY KEY,
            group_key          text        NOT NULL,
            route_id           text        NOT NULL DEFAULT 'default',
            source             text        NOT NULL DEFAULT 'alertmanager',
            status             text        NOT NULL
                CHECK (status IN ('triggered', 'acknowledged', 'resolved')),
            severity           text        NOT NULL
                CHECK (severity IN ('critical', 'error', 'warning', 'info')),
            title              text        NOT NULL,
            summary            text        NOT NULL DEFAULT '',
            description        text        NOT NULL DEFAULT '',
            labels             jsonb       NOT NULL DEFAULT '{}',
            group_labels       jsonb       NOT NULL DEFAULT '{}',
            links              jsonb       NOT NULL DEFAULT '{}',
            external_url       text        NOT NULL DEFAULT '',
            alert_count        integer     NOT NULL DEFAULT 0,
            firing_alert_count integer     NOT NULL DEFAULT 0,
            auto_resolve       boolean     NOT NULL DEFAULT true,
            reopen_count       integer     NOT NULL DEFAULT 0,
            created_at         timestamptz NOT NULL DEFAULT now(),
            updated_at         timestamptz NOT NULL DEFAULT now(),
            triggered_at       timestamptz NOT NULL DEFAULT now(),
            acknowledged_at    timestamptz,
            acknowledged_by    text,
            resolved_at        timestamptz,
            resolved_by        text
        );
        -- at most one open incident per group, whatever the number of replicas
        CREATE UNIQUE INDEX incidents_one_open_per_group ON incidents (group_key) WHERE status <> 'resolved';
        -- reopen_within: the latest resolved incident of a group
        CREATE INDEX incidents_group_resolved ON incidents (group_key, resolved_at DESC) WHERE status = 'resolved';
        -- the incident list: default sort and each single filter
        CREATE INDEX incidents_created ON incidents (created_at DESC, id DESC);
        CREATE INDEX incidents_status_created ON incidents (status, created_at DESC, id DESC);
        CREATE INDEX incidents_severity_created ON incidents (severity, created_at DESC, id DESC);
        CREATE INDEX incidents_team_created ON incidents ((labels ->> 'team'), created_at DESC, id DESC);
        CREATE INDEX incidents_updated ON incidents (updated_at DESC, id DESC);
        CREATE INDEX incidents_open_status ON incidents (status, severity) WHERE status <> 'resolved';

        CREATE TABLE alerts (
            id               bigserial PRIMARY KEY,
            incident_id      bigint      NOT NULL REFERENCES incidents (id),
            fingerprint      text        NOT NULL,
            starts_at        timestamptz NOT NULL,
            ends_at          timestamptz,
            status           text        NOT NULL CHECK (status IN ('firing', 'resolved')),
            labels           jsonb       NOT NULL,
            annotations      jsonb       NOT NULL DEFAULT '{}',
            generator_url    text        NOT NULL DEFAULT '',
            created_at       timestamptz NOT NULL DEFAULT now(),
            updated_at       timestamptz NOT NULL DEFAULT now(),
            last_received_at timestamptz NOT NULL DEFAULT now(),
            receive_count    integer     NOT NULL DEFAULT 1,
            CONSTRAINT alerts_identity UNIQUE (fingerprint, starts_at)
        );
        CREATE INDEX alerts_incident ON alerts (incident_id, id);
        -- superseding an older instance of a fingerprint that is still firing
        CREATE INDEX alerts_firing_fingerprint ON alerts (fingerprint, starts_at) WHERE status = 'firing';
        CREATE INDEX alerts_labels ON alerts USING gin (labels jsonb_path_ops);
        CREATE INDEX alerts_status_id ON alerts (status, id DESC);

        CREATE TABLE incident_events (
            id          bigserial PRIMARY KEY,
            incident_id bigint      NOT NULL REFERENCES incidents (id),
            kind        text        NOT NULL,
            actor       text        NOT NULL,
            source      text        NOT NULL,
            message     text        NOT NULL DEFAULT '',
            data        jsonb       NOT NULL DEFAULT '{}',
            created_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX incident_events_incident ON incident_events (incident_id, id);
        """
    )


def downgrade() -> None:
    execute_script("DROP TABLE incident_events; DROP TABLE alerts; DROP TABLE incidents;")
