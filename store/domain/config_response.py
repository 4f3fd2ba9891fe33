"""The config's response keys: SLA targets (top-level per severity, and per route) and response templates."""

from __future__ import annotations

import re
from collections.abc import Mapping, Set

from store.domain.config_fields import Fields, Problems, check_unique, describe, each_mapping
from store.domain.incident import SEVERITIES
from store.domain.sla import ON_BREACH, SlaTarget
from store.domain.templates import MAX_CHECKLIST, MAX_STEP, Template

SLA_KEYS = ("ack", "resolve", "on_breach")
TEMPLATE_KEYS = ("id", "title", "severity", "description", "checklist", "runbooks", "route", "escalation")
URL = re.compile(r"https?://[^\s<>\"]+")
SLA_EXPECTED = "expected a mapping such as {ack: 5m, resolve: 4h}"


def read_sla_target(value: object, path: str, problems: Problems) -> SlaTarget | None:
    """One `{ack, resolve, on_breach}` mapping; None when it has problems."""
    mark = problems.mark()
    fields = Fields(value, path, problems, SLA_KEYS)
    ack = fields.duration("ack")
    resolve = fields.duration("resolve")
    for key, limit in (("ack", ack), ("resolve", resolve)):
        if limit is not None and limit.total_seconds() <= 0:
            problems.add(fields.at(key), "a target of zero can never be met; expected a duration such as 5m")
    if fields.ok and ack is None and resolve is None and not fields.has("ack") and not fields.has("resolve"):
        problems.add(path, f"sets no target; {SLA_EXPECTED}")
    if ack is not None and resolve is not None and resolve < ack:
        problems.add(fields.at("resolve"), "shorter than ack; expected a resolve target at least as long as ack")
    on_breach = fields.text("on_breach", expected=f"expected {' or '.join(ON_BREACH)}")
    if on_breach is not None and on_breach not in ON_BREACH:
        fields.wrong("on_breach", f"expected {' or '.join(ON_BREACH)}")
    if not problems.clean_since(mark):
        return None
    return SlaTarget(ack=ack, resolve=resolve, on_breach=on_breach)


def read_severity_sla(value: object, problems: Problems) -> dict[str, SlaTarget]:
    """The top-level `sla`: a target per severity."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add("sla", f"got {describe(value)}; expected a mapping of severities ({', '.join(SEVERITIES)}) "
                     "to targets such as {ack: 5m, resolve: 4h}")
        return {}
    targets: dict[str, SlaTarget] = {}
    for severity, item in value.items():
        path = f"sla.{severity}"
        if severity not in SEVERITIES:
            problems.add(path, f"unknown severity; expected one of {', '.join(SEVERITIES)}")
            continue
        target = read_sla_target(item, path, problems)
        if target is not None:
            targets[severity] = target
    return targets


def route_ids_seen(value: object) -> set[str]:
    """The ids routes will have (their `id` or `name`, else their path), for templates that name a route."""
    if not isinstance(value, list):
        return set()
    found = {"default"}
    for index, item in enumerate(value):
        if isinstance(item, dict):
            named = item.get("id", item.get("name"))
            found.add(named if isinstance(named, str) else f"routes[{index}]")
    return found


def read_templates(
    value: object, problems: Problems, route_ids: Set[str], policy_ids: Set[str]
) -> tuple[tuple[Template, ...], set[str]]:
    """The `templates` section, and every template id seen."""
    templates: list[Template] = []
    seen: dict[str, str] = {}
    for item, path in each_mapping(value, "templates", problems, "response templates"):
        mark = problems.mark()
        fields = Fields(item, path, problems, TEMPLATE_KEYS, ("id", "title"))
        template_id = fields.identifier("id")
        check_unique(seen, template_id, fields.at("id"), problems)
        title = fields.text("title", re.compile(r"(?s).{1,300}"), "expected a title as text (at most 300 characters)")
        severity = fields.text("severity", expected=f"expected one of {', '.join(SEVERITIES)}") or "warning"
        if severity not in SEVERITIES:
            fields.wrong("severity", f"expected one of {', '.join(SEVERITIES)}")
        description = _description(fields)
        checklist = _checklist(fields)
        runbooks = _runbooks(fields)
        route = _known(fields, "route", route_ids, "unknown route {!r}; expected the id of one of routes, or default")
        escalation = _known(fields, "escalation", policy_ids,
                            "unknown escalation policy {!r}; expected the id of one of escalation_policies")
        if problems.clean_since(mark) and template_id and title:
            templates.append(Template(template_id, title.strip(), severity, description, checklist, runbooks,
                                      route, escalation))
    return tuple(templates), set(seen)


def _description(fields: Fields) -> str:
    if not fields.has("description"):
        return ""
    value = fields.data["description"]
    if not isinstance(value, str) or len(value) > 10_000:
        fields.wrong("description", "expected text (at most 10,000 characters)")
        return ""
    return value.strip()


def _checklist(fields: Fields) -> tuple[str, ...]:
    steps: list[str] = []
    for step, at in fields.items("checklist", "steps as text"):
        if not isinstance(step, str) or not step.strip() or len(step) > MAX_STEP:
            fields.problems.add(at, f"got {describe(step)}; expected a step as text (at most {MAX_STEP} characters)")
        else:
            steps.append(step.strip())
    if len(steps) > MAX_CHECKLIST:
        fields.problems.add(fields.at("checklist"), f"{len(steps)} steps; expected at most {MAX_CHECKLIST}")
    return tuple(steps)


def _runbooks(fields: Fields) -> tuple[str, ...]:
    links: list[str] = []
    for link, at in fields.items("runbooks", "runbook URLs", allow_single=True):
        if isinstance(link, str) and URL.fullmatch(link.strip()) and len(link) <= 2048:
            links.append(link.strip())
        else:
            fields.problems.add(at, f"got {describe(link)}; expected an http(s) URL such as https://wiki.example/db")
    return tuple(links)


def _known(fields: Fields, key: str, known: Set[str], message: str) -> str | None:
    if not fields.has(key):
        return None
    value = fields.data[key]
    if not isinstance(value, str) or value not in known:
        fields.problems.add(fields.at(key), message.format(value) if isinstance(value, str) else
                            f"got {describe(value)}; {message.split('; ', 1)[1]}")
        return None
    return value


def route_template(fields: Fields, templates: Mapping[str, Template], seen: Set[str]) -> Template | None:
    """A route's `template`: the template it attaches to the incidents its alerts open."""
    if not fields.has("template"):
        return None
    value = fields.data["template"]
    if isinstance(value, str) and value in templates:
        return templates[value]
    if isinstance(value, str) and value in seen:
        return None  # the template itself has problems, reported there
    shown = repr(value) if isinstance(value, str) else describe(value)
    fields.problems.add(fields.at("template"), f"unknown template {shown}; expected the id of one of templates")
    return None


def route_sla(fields: Fields, escalation: str | None) -> SlaTarget | None:
    """A route's `sla`; `on_breach: escalate` needs the route's escalation policy."""
    if not fields.has("sla"):
        return None
    target = read_sla_target(fields.data["sla"], fields.at("sla"), fields.problems)
    if target is not None and target.on_breach and escalation is None:
        fields.problems.add(f"{fields.at('sla')}.on_breach",
                            "this route has no escalation policy to escalate to; expected an escalation key too")
    return target
