"""Example requests and answers shown in the OpenAPI document (a test checks each against its schema)."""

from __future__ import annotations

from typing import Any

INCIDENT: dict[str, Any] = {
    "id": 42,
    "title": "HighLatency on checkout",
    "status": "triggered",
    "severity": "critical",
    "labels": {"alertname": "HighLatency", "service": "checkout", "severity": "critical", "team": "shop"},
    "summary": "p99 latency of checkout is above 2s",
    "description": "",
    "links": {
        "source": "http://prometheus.example:9090/graph?g0.expr=histogram_quantile%280.99%2C...%29",
        "runbook": "https://wiki.example/runbooks/high-latency",
        "alertmanager": "http://alertmanager.example:9093/#/alerts?receiver=tocsin",
    },
    "source": "alertmanager",
    "route": "critical",
    "group_labels": {"alertname": "HighLatency"},
    "alert_count": 2,
    "firing_alert_count": 2,
    "reopen_count": 0,
    "created_at": "2026-11-26T19:03:00.123Z",
    "updated_at": "2026-11-26T19:03:00.123Z",
    "triggered_at": "2026-11-26T19:03:00.123Z",
    "acknowledged_at": None,
    "acknowledged_by": None,
    "resolved_at": None,
    "resolved_by": None,
    "url": "https://tocsin.example/incidents/42",
    "sla": {"ack_due_at": "2026-11-26T19:08:00.123Z", "resolve_due_at": "2026-11-26T23:03:00.123Z", "breached": []},
    "tickets": [{"system": "jira", "key": "OPS-12", "url": "https://jira.example.com/browse/OPS-12"}],
    "maintenance": None,
    "flapping": False,
}
ACKNOWLEDGED = {
    **INCIDENT,
    "status": "acknowledged",
    "updated_at": "2026-11-26T19:05:12.004Z",
    "acknowledged_at": "2026-11-26T19:05:12.004Z",
    "acknowledged_by": "alice",
}
RESOLVED = {
    **ACKNOWLEDGED,
    "status": "resolved",
    "updated_at": "2026-11-26T19:31:40.250Z",
    "resolved_at": "2026-11-26T19:31:40.250Z",
    "resolved_by": "alice",
}
MANUAL = {
    **INCIDENT,
    "id": 43,
    "title": "Checkout is down",
    "severity": "critical",
    "labels": {},
    "summary": "",
    "description": "Customers report 502s since 19:00",
    "links": {},
    "source": "api",
    "route": "default",
    "group_labels": {},
    "alert_count": 0,
    "firing_alert_count": 0,
    "url": "https://tocsin.example/incidents/43",
    "sla": {"ack_due_at": None, "resolve_due_at": None, "breached": []},
    "tickets": [],
}
CHECKLIST_ITEM = {"index": 2, "text": "Fail over to the replica", "done": True, "done_by": "alice",
                  "done_at": "2026-11-26T19:12:40.500Z"}
ALERT: dict[str, Any] = {
    "id": 7,
    "incident_id": 42,
    "fingerprint": "3f8a6c2d1e9b0a47",
    "status": "firing",
    "starts_at": "2026-11-26T19:02:30.000Z",
    "ends_at": None,
    "labels": {"alertname": "HighLatency", "instance": "checkout-1:9100", "service": "checkout",
               "severity": "critical", "team": "shop"},
    "annotations": {"summary": "p99 latency of checkout is above 2s",
                    "runbook_url": "https://wiki.example/runbooks/high-latency"},
    "generator_url": "http://prometheus.example:9090/graph?g0.expr=histogram_quantile%280.99%2C...%29",
    "created_at": "2026-11-26T19:03:00.123Z",
    "updated_at": "2026-11-26T19:03:00.123Z",
    "last_received_at": "2026-11-26T19:08:00.451Z",
    "receive_count": 2,
}
OPENED_EVENT = {"id": 101, "incident_id": 42, "kind": "opened", "actor": "alertmanager", "source": "alertmanager",
                "message": "Opened by Alertmanager", "data": {}, "created_at": "2026-11-26T19:03:00.123Z"}
NOTE_EVENT = {"id": 104, "incident_id": 42, "kind": "note", "actor": "alice", "source": "api",
              "message": "Rolled back release 2026.11.26-3", "data": {}, "created_at": "2026-11-26T19:20:02.318Z"}
SILENCE_EVENT = {
    "id": 105, "incident_id": 42, "kind": "silenced", "actor": "alice", "source": "api",
    "message": "Silenced for 1h by alice",
    "data": {"silence_id": "a1b2c3d4-0000-4000-8000-000000000001",
             "silence_ids": ["a1b2c3d4-0000-4000-8000-000000000001", "a1b2c3d4-0000-4000-8000-000000000002"],
             "ends_at": "2026-11-26T20:21:00.000000+00:00", "duration": "1h"},
    "created_at": "2026-11-26T19:21:00.000Z",
}
DETAIL = {
    **ACKNOWLEDGED,
    "template": "checkout-latency",
    "runbooks": ["https://wiki.example/runbooks/high-latency"],
    "checklist": [{"index": 1, "text": "Check the latest deploy", "done": False, "done_by": None, "done_at": None},
                  CHECKLIST_ITEM],
    "alerts": [ALERT],
    "timeline": [
        OPENED_EVENT,
        {"id": 102, "incident_id": 42, "kind": "alert_firing", "actor": "alertmanager", "source": "alertmanager",
         "message": "Alert firing: HighLatency on checkout-1:9100",
         "data": {"fingerprint": "3f8a6c2d1e9b0a47", "starts_at": "2026-11-26T19:02:30+00:00"},
         "created_at": "2026-11-26T19:03:00.123Z"},
        {"id": 103, "incident_id": 42, "kind": "acknowledged", "actor": "alice", "source": "slack",
         "message": "Acknowledged by alice", "data": {"assignee": "alice"}, "created_at": "2026-11-26T19:05:12.004Z"},
    ],
    "deliveries": {
        "slack": {"state": "sent", "targets": [{"target": "C0OPS", "state": "sent", "attempts": 1, "failed": 0,
                                                "last_error": None, "sent_at": "2026-11-26T19:05:12.210Z"}]},
        "email": {"state": "pending", "targets": [{"target": "ops@example.com", "state": "pending", "attempts": 2,
                                                   "failed": 0, "last_error": "SMTP 451: try again later",
                                                   "sent_at": None}]},
    },
}
STATS = {
    "since": "2026-11-19T19:00:00Z",
    "until": "2026-11-26T19:00:00Z",
    "by_status": {"triggered": 1, "acknowledged": 2, "resolved": 31},
    "by_severity": {"critical": 4, "error": 6, "warning": 20, "info": 4},
    "mtta_seconds": {"mean": 212.5, "p50": 95.0, "p90": 540.0},
    "mttr_seconds": {"mean": 2710.0, "p50": 1800.0, "p90": 7200.0},
    "daily": [{"date": "2026-11-25", "opened": 5, "resolved": 4}, {"date": "2026-11-26", "opened": 3, "resolved": 5}],
}
CURSOR = "eyJrIjpbIjIwMjYtMTEtMjZUMTk6MDM6MDAuMTIzWiIsNDJdfQ"

_FIGURES = {"ack_met": 38, "ack_breached": 2, "ack_attainment_percent": 95.0, "resolve_met": 36, "resolve_breached": 3,
            "resolve_attainment_percent": 92.31, "breaches": 5, "mtta_seconds": {"p50": 95.0, "p90": 280.0},
            "mttr_seconds": {"p50": 1800.0, "p90": 9100.0}}
SLA_REPORT = {
    "since": "2026-10-27T19:00:00Z",
    "until": "2026-11-26T19:00:00Z",
    "group_by": "route",
    "groups": [{"group": "critical", "incidents": 41, **_FIGURES}],
    "total": {"incidents": 41, **_FIGURES},
    "weekly": [{"week": "2026-11-23", "incidents": 41, **_FIGURES}],
}
SLA_REPORT_CSV = (
    "scope,group,incidents,ack_met,ack_breached,ack_attainment_percent,resolve_met,resolve_breached,"
    "resolve_attainment_percent,breaches,mtta_p50_seconds,mtta_p90_seconds,mttr_p50_seconds,mttr_p90_seconds\r\n"
    "group,critical,41,38,2,95.0,36,3,92.31,5,95.0,280.0,1800.0,9100.0\r\n"
    "total,,41,38,2,95.0,36,3,92.31,5,95.0,280.0,1800.0,9100.0\r\n"
    "week,2026-11-23,41,38,2,95.0,36,3,92.31,5,95.0,280.0,1800.0,9100.0\r\n"
)
POSTMORTEM = {
    "incident_id": 42,
    "status": "draft",
    "markdown": "# Post-mortem: #42 HighLatency on checkout\n\n## Root cause\n\nA slow query after release "
                "2026.11.26-3.\n\n## Action items\n\n- [ ] Alert on p99 of the orders query @alice\n",
    "version": 3,
    "saved": True,
    "updated_by": "alice",
    "updated_at": "2026-11-27T10:02:11.000Z",
    "published_at": None,
    "action_items": [{"text": "Alert on p99 of the orders query @alice", "owner": "alice", "done": False}],
    "url": "https://tocsin.example/incidents/42/postmortem",
}
