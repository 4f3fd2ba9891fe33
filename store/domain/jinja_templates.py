"""Jinja2 templates of the config file (webhook bodies, Jira fields): one sandboxed environment, checked once.

A template sees `incident` (the incident as the API shows it) and `event` (the timeline entry, as the API
shows it). An undefined name is an error, so a typo shows at `tocsin check-config` rather than in a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_OUTPUT = 1_048_576  # characters a rendered template may have
ENVIRONMENT = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)

# What a template sees, with every field the API gives: checking renders the template against it.
EXAMPLE_CONTEXT: dict[str, Any] = {
    "incident": {
        "id": 42, "title": "p99 latency of checkout is above 2s", "status": "triggered", "severity": "critical",
        "labels": {"alertname": "HighLatency", "service": "checkout", "severity": "critical"},
        "summary": "p99 latency of checkout is above 2s", "description": "",
        "links": {"runbook": "https://wiki.example/runbooks/high-latency"}, "source": "alertmanager",
        "route": "critical", "group_labels": {"alertname": "HighLatency"}, "alert_count": 1,
        "firing_alert_count": 1, "reopen_count": 0, "created_at": "2026-11-26T19:02:31Z",
        "updated_at": "2026-11-26T19:02:31Z", "triggered_at": "2026-11-26T19:02:31Z", "acknowledged_at": None,
        "acknowledged_by": None, "resolved_at": None, "resolved_by": None,
        "url": "https://tocsin.example/incidents/42", "tickets": [],
    },
    "event": {
        "id": 7, "incident_id": 42, "kind": "opened", "actor": "alertmanager", "source": "alertmanager",
        "message": "Opened by Alertmanager", "data": {}, "created_at": "2026-11-26T19:02:31Z",
    },
}


class TemplateFailed(ValueError):
    """A template could not be rendered; the message says why (never the data it was given)."""


def check_template(text: str) -> str | None:
    """Why the template cannot be used (a syntax error, an unknown name), or None when it renders."""
    try:
        render(text, EXAMPLE_CONTEXT)
    except TemplateFailed as exc:
        return str(exc)
    return None


def render(text: str, context: Mapping[str, Any]) -> str:
    """The template rendered with `context`; TemplateFailed naming the error."""
    try:
        output = ENVIRONMENT.from_string(text).render(context)
    except TemplateError as exc:
        where = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        raise TemplateFailed(f"{type(exc).__name__}{where}: {exc.message or exc}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise TemplateFailed(f"{type(exc).__name__}: {exc}") from None
    if len(output) > MAX_OUTPUT:
        raise TemplateFailed(f"the output is longer than {MAX_OUTPUT} characters")
    return output
