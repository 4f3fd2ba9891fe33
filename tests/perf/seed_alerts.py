"""Fill a Tocsin database with N stored alerts (and their incidents and timelines) in a few SQL statements.

    python tests/perf/seed_alerts.py --dsn postgresql://.../tocsin --alerts 1000000

It migrates the database first, then inserts with generate_series: `--per-incident` alerts per incident,
every incident resolved except one in a hundred (whose alerts are still firing), and a realistic timeline
(opened, one entry per alert, resolved). The seeded groups never collide with the load generator's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

import asyncpg

from store.migrate import upgrade_sync

INCIDENTS = """
INSERT INTO incidents (group_key, status, severity, title, summary, labels, group_labels, links, external_url,
                       alert_count, firing_alert_count, created_at, updated_at, triggered_at, resolved_at, resolved_by)
SELECT 'default|am|{}:{alertname="Seed' || g || '"}',
       CASE WHEN g % 100 = 0 THEN 'triggered' ELSE 'resolved' END,
       (ARRAY['critical', 'error', 'warning', 'info'])[1 + g % 4],
       'Seed' || g, 'seeded incident ' || g,
       jsonb_build_object('alertname', 'Seed' || g, 'team', 'team-' || (g % 20)),
       jsonb_build_object('alertname', 'Seed' || g),
       jsonb_build_object('source', 'http://prometheus.example/graph'),
       'http://alertmanager.example:9093', $2, CASE WHEN g % 100 = 0 THEN $2 ELSE 0 END,
       t, t, t,
       CASE WHEN g % 100 = 0 THEN NULL ELSE t + interval '10 minutes' END,
       CASE WHEN g % 100 = 0 THEN NULL ELSE 'alertmanager' END
FROM generate_series(1, $1::int) AS g,
     LATERAL (SELECT now() - interval '90 days' + (g * interval '90 days') / $1::int AS t) AS ts
"""

ALERTS = """
INSERT INTO alerts (incident_id, fingerprint, starts_at, ends_at, status, labels, annotations, generator_url,
                    created_at, updated_at, last_received_at)
SELECT i.id, substr(md5(i.id::text || '/' || s), 1, 16), i.triggered_at,
       CASE WHEN i.status = 'resolved' THEN i.resolved_at END,
       CASE WHEN i.status = 'resolved' THEN 'resolved' ELSE 'firing' END,
       jsonb_build_object('alertname', i.title, 'instance', 'host-' || s || ':9100', 'job', 'node',
                          'severity', i.severity, 'team', i.labels ->> 'team'),
       jsonb_build_object('summary', i.title || ' on host-' || s),
       'http://prometheus.example/graph?g0.expr=up',
       i.triggered_at, coalesce(i.resolved_at, i.triggered_at), coalesce(i.resolved_at, i.triggered_at)
FROM incidents i, generate_series(1, $1::int) AS s
WHERE i.group_key LIKE 'default|am|{}:{alertname="Seed%'
"""

EVENTS = """
INSERT INTO incident_events (incident_id, kind, actor, source, message, data, created_at)
SELECT i.id, 'opened', 'alertmanager', 'alertmanager', 'Opened by Alertmanager', '{}', i.created_at
FROM incidents i WHERE i.group_key LIKE 'default|am|{}:{alertname="Seed%'
UNION ALL
SELECT a.incident_id, 'alert_firing', 'alertmanager', 'alertmanager', 'Alert firing: ' || (a.labels ->> 'alertname'),
       jsonb_build_object('fingerprint', a.fingerprint, 'starts_at', a.starts_at), a.created_at
FROM alerts a JOIN incidents i ON i.id = a.incident_id WHERE i.group_key LIKE 'default|am|{}:{alertname="Seed%'
UNION ALL
SELECT i.id, 'resolved', 'alertmanager', 'alertmanager', 'Resolved: every alert has resolved', '{}', i.resolved_at
FROM incidents i WHERE i.group_key LIKE 'default|am|{}:{alertname="Seed%' AND i.status = 'resolved'
"""


async def seed(dsn: str, alerts: int, per_incident: int) -> None:
    """Insert the rows, then ANALYZE so the planner sees the table sizes."""
    conn = await asyncpg.connect(dsn, command_timeout=3600)
    try:
        seeded = "SELECT count(*) FROM incidents WHERE group_key LIKE 'default|am|{}:{alertname=\"Seed%'"
        if await conn.fetchval(seeded):
            raise SystemExit("seed_alerts: this database is already seeded; use a fresh one")
        steps = [
            ("incidents", INCIDENTS, (alerts // per_incident, per_incident)),
            ("alerts", ALERTS, (per_incident,)),
            ("timeline", EVENTS, ()),
        ]
        for name, sql, params in steps:
            started = time.monotonic()
            async with conn.transaction():
                status = await conn.execute(sql, *params)
            print(f"{name}: {status.split()[-1]} rows in {time.monotonic() - started:.1f}s", flush=True)
        started = time.monotonic()
        await conn.execute("VACUUM ANALYZE incidents, alerts, incident_events")
        print(f"vacuum analyze: {time.monotonic() - started:.1f}s", flush=True)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    """Migrate, then seed."""
    parser = argparse.ArgumentParser(description="Bulk-insert alerts with their incidents into a Tocsin database.")
    parser.add_argument("--dsn", default=os.environ.get("DATABASE_URL", ""), help="database URL (or DATABASE_URL)")
    parser.add_argument("--alerts", type=int, default=1_000_000, help="alerts to insert (default 1,000,000)")
    parser.add_argument("--per-incident", type=int, default=10, help="alerts per incident (default 10)")
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("give --dsn or set DATABASE_URL")
    if args.alerts < args.per_incident or args.per_incident < 1:
        parser.error("--alerts must be at least --per-incident, which must be at least 1")
    upgrade_sync(args.dsn)
    asyncio.run(seed(args.dsn, args.alerts, args.per_incident))
    return 0


if __name__ == "__main__":
    sys.exit(main())
