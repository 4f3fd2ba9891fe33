"""The config's SLA targets and response templates: what is taken, what check-config refuses and how it says so."""

from __future__ import annotations

from datetime import timedelta

import pytest

from store.domain.config_schema import ConfigError, parse_config
from store.domain.sla import SlaTarget

POLICY = {"id": "p", "steps": [{"after": "0m", "notify": ["slack_channel:C0LEADS"]}]}


def problems(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return caught.value.lines("tocsin.yml")


def test_the_route_target_wins_kind_by_kind_over_the_severity_target() -> None:
    config = parse_config({
        "escalation_policies": [POLICY],
        "sla": {"critical": {"ack": "5m", "resolve": "4h"}, "info": {"resolve": "1d"}},
        "routes": [{"id": "db", "escalation": "p", "sla": {"ack": "2m", "on_breach": "escalate"}}],
    })
    assert config.sla_target("db", "critical") == SlaTarget(timedelta(minutes=2), timedelta(hours=4), "escalate")
    assert config.sla_target("default", "critical") == SlaTarget(timedelta(minutes=5), timedelta(hours=4))
    assert config.sla_target("default", "info") == SlaTarget(None, timedelta(days=1))
    assert config.sla_target("default", "warning").empty


def test_templates_and_a_routes_template() -> None:
    config = parse_config({
        "templates": [{"id": "db-failover", "title": "DB failover", "severity": "critical",
                       "checklist": ["Freeze", "Promote"], "runbooks": "https://wiki.example/db", "route": "db"}],
        "routes": [{"id": "db", "template": "db-failover"}],
    })
    template = config.template("db-failover")
    assert template is not None and template.checklist == ("Freeze", "Promote")
    assert template.runbooks == ("https://wiki.example/db",) and template.route == "db"
    assert config.routes.routes[0].template == template
    assert config.template("other") is None


@pytest.mark.parametrize(
    ("data", "line"),
    [
        ({"sla": {"urgent": {"ack": "5m"}}},
         "tocsin.yml: sla.urgent: unknown severity; expected one of critical, error, warning, info"),
        ({"sla": {"critical": {"ack": "soon"}}},
         "tocsin.yml: sla.critical.ack: got the text 'soon'; expected a duration such as 30s, 15m, 2h, 1d or 1h30m"),
        ({"sla": {"critical": {"ack": "0s"}}},
         "tocsin.yml: sla.critical.ack: a target of zero can never be met; expected a duration such as 5m"),
        ({"sla": {"critical": {}}}, "tocsin.yml: sla.critical: sets no target; expected a mapping such as "
                                    "{ack: 5m, resolve: 4h}"),
        ({"sla": {"critical": {"ack": "1h", "resolve": "5m"}}},
         "tocsin.yml: sla.critical.resolve: shorter than ack; expected a resolve target at least as long as ack"),
        ({"sla": {"critical": {"ack": "5m", "on_breach": "page"}}},
         "tocsin.yml: sla.critical.on_breach: got the text 'page'; expected escalate"),
        ({"sla": "fast"}, "tocsin.yml: sla: got the text 'fast'; expected a mapping of severities (critical, error, "
                          "warning, info) to targets such as {ack: 5m, resolve: 4h}"),
        ({"routes": [{"id": "r", "sla": {"ack": "5m", "on_breach": "escalate"}}]},
         "tocsin.yml: routes[0].sla.on_breach: this route has no escalation policy to escalate to; expected an "
         "escalation key too"),
        ({"routes": [{"id": "r", "template": "nope"}]},
         "tocsin.yml: routes[0].template: unknown template 'nope'; expected the id of one of templates"),
        ({"templates": [{"id": "t"}]}, "tocsin.yml: templates[0].title: missing; this key is required"),
        ({"templates": [{"id": "t", "title": "T", "severity": "huge"}]},
         "tocsin.yml: templates[0].severity: got the text 'huge'; expected one of critical, error, warning, info"),
        ({"templates": [{"id": "t", "title": "T", "runbooks": ["javascript:alert(1)"]}]},
         "tocsin.yml: templates[0].runbooks[0]: got the text 'javascript:alert(1)'; expected an http(s) URL such as "
         "https://wiki.example/db"),
        ({"templates": [{"id": "t", "title": "T", "checklist": ["ok", ""]}]},
         "tocsin.yml: templates[0].checklist[1]: got the text ''; expected a step as text (at most 300 characters)"),
        ({"templates": [{"id": "t", "title": "T", "route": "nowhere"}]},
         "tocsin.yml: templates[0].route: unknown route 'nowhere'; expected the id of one of routes, or default"),
        ({"templates": [{"id": "t", "title": "T", "escalation": "nobody"}]},
         "tocsin.yml: templates[0].escalation: unknown escalation policy 'nobody'; expected the id of one of "
         "escalation_policies"),
        ({"templates": [{"id": "t", "title": "T"}, {"id": "t", "title": "U"}]},
         "tocsin.yml: templates[1].id: duplicate id 't' (also at templates[0].id); expected each id once"),
    ],
)
def test_check_config_refuses_what_it_cannot_use(data: dict, line: str) -> None:
    assert line in problems(data)


def test_a_template_with_problems_is_not_reported_again_where_a_route_names_it() -> None:
    lines = problems({"templates": [{"id": "t", "title": "T", "severity": "huge"}],
                      "routes": [{"id": "r", "template": "t"}]})
    assert not any("routes[0].template" in line for line in lines)
