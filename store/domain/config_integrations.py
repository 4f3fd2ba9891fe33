"""The config file's integrations: `integrations` (PagerDuty-style event senders), `webhooks` (outgoing), and the
route keys `pagerduty` and `jira`. Secrets (routing keys, webhook secrets) are never repeated in a message."""

from __future__ import annotations

import re

from store.domain.config_fields import Fields, Problems, check_unique, describe, each_mapping, matchers_of
from store.domain.jinja_templates import check_template
from store.domain.links import safe_url
from store.domain.matchers import LABEL_NAME
from store.domain.outgoing import INTEGRATION_KINDS, WEBHOOK_EVENTS, Integration, JiraTarget, PagerDutyTarget, Webhook

INTEGRATION_KEYS = ("id", "kind", "routing_key", "labels")
WEBHOOK_KEYS = ("id", "url", "events", "secret", "match", "template")
PAGERDUTY_KEYS = ("routing_key",)
JIRA_KEYS = ("project", "issue_type", "summary", "description", "fields", "resolve_transition", "reopen_transition")
ROUTING_KEY = re.compile(r"[A-Za-z0-9]{32}")
ROUTING_KEY_EXPECTED = ("expected 32 letters or digits, as PagerDuty's integration keys are "
                        "(openssl rand -hex 16 makes one)")
SECRET = re.compile(r"\S{16,200}")
SECRET_EXPECTED = "expected a random secret of 16 to 200 characters without spaces (openssl rand -hex 32 makes one)"  # noqa: S105 - a message, not a secret
URL_EXPECTED = "expected an http:// or https:// URL such as https://hooks.example.com/tocsin"
JIRA_PROJECT = re.compile(r"[A-Z][A-Z0-9_]{0,254}")
JIRA_PROJECT_EXPECTED = "expected a Jira project key such as OPS (capital letters, digits and '_')"
JIRA_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
TEMPLATE_EXPECTED = "expected a Jinja2 template using incident and event (docs/integrations.md)"


def _secret(fields: Fields, key: str, pattern: re.Pattern[str], expected: str) -> str | None:
    """A secret value: checked like any text, but the message never shows it."""
    if not fields.has(key):
        return None
    value = fields.data[key]
    if isinstance(value, str) and pattern.fullmatch(value):
        return value
    shown = "text that is not" if isinstance(value, str) else describe(value) + ", not"
    fields.problems.add(fields.at(key), f"got {shown} a usable secret; {expected}")
    return None


def _template(fields: Fields, key: str) -> str | None:
    text = fields.text(key, expected=TEMPLATE_EXPECTED)
    if text is None:
        return None
    problem = check_template(text)
    if problem is not None:
        fields.problems.add(fields.at(key), f"{problem}; {TEMPLATE_EXPECTED}")
        return None
    return text


def _labels(fields: Fields) -> dict[str, str]:
    value = fields.data.get("labels")
    if value is None:
        return {}
    if not isinstance(value, dict):
        fields.wrong("labels", "expected a mapping of label names to values, such as {team: db}")
        return {}
    labels: dict[str, str] = {}
    for name, item in value.items():
        at = fields.at("labels") + f".{name}"
        if not isinstance(name, str) or not LABEL_NAME.fullmatch(name):
            fields.problems.add(at, "not a label name; expected letters, digits and '_', not starting with a digit")
        elif isinstance(item, bool) or not isinstance(item, str | int) or not str(item).strip():
            fields.problems.add(at, f"got {describe(item)}; expected the label's value as text")
        else:
            labels[name] = str(item)
    return labels


def read_integrations(value: object, problems: Problems) -> tuple[Integration, ...]:
    """The `integrations` section: senders of PagerDuty-style events, each with its own routing key."""
    found: list[Integration] = []
    ids: dict[str, str] = {}
    keys: dict[str, str] = {}
    for item, path in each_mapping(value, "integrations", problems, "integrations"):
        if isinstance(item, str):  # perhaps a routing key on its own: never repeat it
            problems.add(path, f"got text; expected a mapping with keys {', '.join(INTEGRATION_KEYS)}")
            continue
        mark = problems.mark()
        fields = Fields(item, path, problems, INTEGRATION_KEYS, ("id", "kind", "routing_key"))
        integration_id = fields.identifier("id")
        check_unique(ids, integration_id, fields.at("id"), problems)
        kind = fields.text("kind", expected=f"expected one of {', '.join(INTEGRATION_KINDS)}")
        if kind is not None and kind not in INTEGRATION_KINDS:
            fields.wrong("kind", f"expected one of {', '.join(INTEGRATION_KINDS)}")
        routing_key = _secret(fields, "routing_key", ROUTING_KEY, ROUTING_KEY_EXPECTED)
        if routing_key is not None and routing_key in keys:
            problems.add(fields.at("routing_key"), f"the same routing key as {keys[routing_key]}; expected each "
                         "integration to have its own")
        elif routing_key is not None:
            keys[routing_key] = fields.at("routing_key")
        labels = _labels(fields)
        if problems.clean_since(mark) and integration_id and kind and routing_key:
            found.append(Integration(integration_id, kind, routing_key, labels))
    return tuple(found)


def _events(fields: Fields) -> tuple[str, ...]:
    if not fields.has("events"):
        return WEBHOOK_EVENTS
    events: list[str] = []
    expected = f"expected one of {', '.join(WEBHOOK_EVENTS)}"
    for name, at in fields.items("events", "event names", nonempty=True):
        if name not in WEBHOOK_EVENTS:
            fields.problems.add(at, f"got {describe(name)}; {expected}")
        elif name in events:
            fields.problems.add(at, f"{name!r} is listed twice; expected each event once")
        else:
            events.append(str(name))
    return tuple(events)


def read_webhooks(value: object, problems: Problems) -> tuple[Webhook, ...]:
    """The `webhooks` section: where every change of the matching incidents is posted."""
    found: list[Webhook] = []
    ids: dict[str, str] = {}
    for item, path in each_mapping(value, "webhooks", problems, "webhooks"):
        mark = problems.mark()
        fields = Fields(item, path, problems, WEBHOOK_KEYS, ("id", "url"))
        webhook_id = fields.identifier("id")
        check_unique(ids, webhook_id, fields.at("id"), problems)
        url = None
        if fields.has("url"):
            url = safe_url(fields.data["url"])
            if url is None:
                problems.add(fields.at("url"), f"not a web address; {URL_EXPECTED}")
        events = _events(fields)
        secret = _secret(fields, "secret", SECRET, SECRET_EXPECTED)
        matchers = matchers_of(fields)
        template = _template(fields, "template")
        if problems.clean_since(mark) and webhook_id and url:
            found.append(Webhook(webhook_id, url, events, secret, tuple(matchers), template))
    return tuple(found)


def read_pagerduty(fields: Fields) -> PagerDutyTarget | None:
    """A route's `pagerduty: {routing_key}`."""
    if not fields.has("pagerduty"):
        return None
    value = fields.data["pagerduty"]
    if not isinstance(value, dict):  # most likely the key itself: never repeat it
        shown = "text" if isinstance(value, str) else describe(value)
        fields.problems.add(fields.at("pagerduty"), f"got {shown}; expected a mapping with the key routing_key, "
                            "such as {routing_key: <the 32-character integration key>}")
        return None
    inner = Fields(fields.data["pagerduty"], fields.at("pagerduty"), fields.problems, PAGERDUTY_KEYS, PAGERDUTY_KEYS)
    routing_key = _secret(inner, "routing_key", ROUTING_KEY, "expected the 32-character integration key of a "
                          "PagerDuty service's Events API v2 integration")
    return PagerDutyTarget(routing_key) if routing_key else None


def _jira_fields(fields: Fields) -> dict[str, str]:
    value = fields.data.get("fields")
    if value is None:
        return {}
    if not isinstance(value, dict):
        fields.wrong("fields", "expected a mapping of Jira field ids to templates, such as {priority: "
                     "'{\"name\": \"High\"}'}")
        return {}
    templates: dict[str, str] = {}
    for name, text in value.items():
        at = fields.at("fields") + f".{name}"
        if not isinstance(name, str) or not JIRA_FIELD.fullmatch(name) or name in ("project", "issuetype"):
            fields.problems.add(at, "not a field id to set; expected a Jira field id such as priority or "
                                "customfield_10010 (project and issue type have keys of their own)")
        elif not isinstance(text, str) or not text.strip():
            fields.problems.add(at, f"got {describe(text)}; {TEMPLATE_EXPECTED}")
        elif (problem := check_template(text)) is not None:
            fields.problems.add(at, f"{problem}; {TEMPLATE_EXPECTED}")
        else:
            templates[name] = text
    return templates


def read_jira(fields: Fields) -> JiraTarget | None:
    """A route's `jira: {project, issue_type, …}`."""
    if not fields.has("jira"):
        return None
    mark = fields.problems.mark()
    inner = Fields(fields.data["jira"], fields.at("jira"), fields.problems, JIRA_KEYS, ("project", "issue_type"))
    project = inner.text("project", JIRA_PROJECT, JIRA_PROJECT_EXPECTED)
    issue_type = inner.text("issue_type", expected="expected an issue type's name or id, such as Bug or Incident")
    summary, description = _template(inner, "summary"), _template(inner, "description")
    templates = _jira_fields(inner)
    resolve = inner.text("resolve_transition", expected="expected the name of a Jira transition, such as Done")
    reopen = inner.text("reopen_transition", expected="expected the name of a Jira transition, such as Reopen")
    if not fields.problems.clean_since(mark) or not project or not issue_type:
        return None
    return JiraTarget(project, issue_type.strip(), summary, description, templates, resolve or "Done", reopen)
