"""The config file's schema (CONTRACT section 7): a parsed YAML document to a checked `Config`, or every problem."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from datetime import timedelta

from store.domain.config_fields import Fields, Problem, Problems, check_unique, describe, each_mapping, matchers_of
from store.domain.config_integrations import read_integrations, read_jira, read_pagerduty, read_webhooks
from store.domain.config_oncall import read_heartbeats, read_maintenance
from store.domain.config_paging import PAGING_KEYS, read_paging
from store.domain.config_response import (
    read_severity_sla,
    read_templates,
    route_ids_seen,
    route_sla,
    route_template,
)
from store.domain.config_schedules import read_schedules
from store.domain.contacts import (
    DISCORD_CHANNEL_EXPECTED,
    DISCORD_ID,
    DISCORD_USER_EXPECTED,
    EMAIL,
    EMAIL_EXPECTED,
    MATTERMOST_CHANNEL_EXPECTED,
    MATTERMOST_ID,
    MATTERMOST_USER,
    MATTERMOST_USER_EXPECTED,
    SLACK_CHANNEL,
    SLACK_CHANNEL_EXPECTED,
    SLACK_USER,
    SLACK_USER_EXPECTED,
    TELEGRAM_CHAT,
    TELEGRAM_CHAT_EXPECTED,
)
from store.domain.escalation import Policy, Step, Target
from store.domain.heartbeats import Heartbeat
from store.domain.maintenance import Window
from store.domain.matchers import LABEL_NAME
from store.domain.outgoing import Integration
from store.domain.routing import (
    DEFAULT_FLAP_THRESHOLD,
    DEFAULT_FLAP_WINDOW,
    DEFAULT_REOPEN_WITHIN,
    Route,
    RouteTable,
)
from store.domain.schedule import Schedule
from store.domain.sla import SlaTarget, target_for
from store.domain.templates import Template
from store.domain.users import User

TOP_KEYS = ("users", "schedules", "escalation_policies", "routes", "sla", "templates", "integrations", "webhooks",
            "chat_strangers", "heartbeats", "maintenance")
USER_KEYS = ("id", "name", "email", "slack_id", "telegram_id", "discord_id", "mattermost_id", "role", *PAGING_KEYS)
CHAT_STRANGERS = ("read", "act")  # the first is the default
USER_ROLES = ("responder", "viewer", "admin")
POLICY_KEYS = ("id", "steps", "repeat", "ack_timeout", "remind_every")
STEP_KEYS = ("after", "notify")
ROUTE_KEYS = (
    "id",
    "name",
    "match",
    "escalation",
    "slack_channel",
    "telegram_chat",
    "discord_channel",
    "mattermost_channel",
    "email",
    "group_by",
    "auto_resolve",
    "reopen_within",
    "sla",
    "template",
    "pagerduty",
    "jira",
    "ack_timeout",
    "remind_every",
    "flap_threshold",
    "flap_window",
)
TELEGRAM_USER = re.compile(r"[1-9][0-9]{0,15}")
TELEGRAM_USER_EXPECTED = "expected a Telegram user id (a number) such as 111111"
ROUTE_ID = re.compile(r"\S(?:.{0,98}\S)?")
TARGET_EXPECTED = ('expected "user:ID", "schedule:ID", "slack_channel:C0123ABCD", "telegram_chat:-1001234567890", '
                   '"discord_channel:ID" or "mattermost_channel:ID"')
MAX_REPEAT = 100
MAX_FLAP_THRESHOLD = 1000
ACK_DURATION_EXPECTED = "expected a duration from 1m to 30d such as 30m"
FLAP_WINDOW_EXPECTED = "expected a duration from 1m to 7d such as 1h"


class ConfigError(ValueError):
    """The config has problems; `problems` lists every one of them."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the config")

    def lines(self, source: str) -> list[str]:
        """One line per problem: `FILE: PATH: what was wrong; expected ...`."""
        return [problem.line(source) for problem in self.problems]


@dataclass(frozen=True, slots=True)
class Config:
    """Everything the config file declares; the route table's default route comes from the settings."""

    users: tuple[User, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    policies: tuple[Policy, ...] = ()
    routes: RouteTable = field(default_factory=RouteTable)
    sla: Mapping[str, SlaTarget] = field(default_factory=dict)  # per severity
    templates: tuple[Template, ...] = ()
    integrations: tuple[Integration, ...] = ()
    chat_strangers: str = "read"  # "act": chat members who are no config user may act (as responders)
    heartbeats: tuple[Heartbeat, ...] = ()

    @property
    def maintenance(self) -> tuple[Window, ...]:
        """The maintenance windows declared in the config (the route table carries them to the ingest)."""
        return tuple(self.routes.windows)

    def heartbeat(self, heartbeat_id: str) -> Heartbeat | None:
        """The heartbeat with this id, or None."""
        return next((h for h in self.heartbeats if h.id == heartbeat_id), None)

    def user(self, user_id: str) -> User | None:
        """The user with this id, or None."""
        return next((u for u in self.users if u.id == user_id), None)

    def user_by_slack_id(self, slack_id: str) -> User | None:
        """The user with this Slack user id, or None."""
        return next((u for u in self.users if u.slack_id == slack_id), None)

    def user_by_telegram_id(self, telegram_id: int) -> User | None:
        """The user with this Telegram user id, or None."""
        return next((u for u in self.users if u.telegram_id == telegram_id), None)

    def user_by_phone(self, phone: str) -> User | None:
        """The user with this phone number (E.164), or None."""
        return next((u for u in self.users if u.phone == phone), None)

    def schedule(self, schedule_id: str) -> Schedule | None:
        """The schedule with this id, or None."""
        return next((s for s in self.schedules if s.id == schedule_id), None)

    def policy(self, policy_id: str) -> Policy | None:
        """The escalation policy with this id, or None."""
        return next((p for p in self.policies if p.id == policy_id), None)

    def template(self, template_id: str) -> Template | None:
        """The response template with this id, or None."""
        return next((t for t in self.templates if t.id == template_id), None)

    @property
    def tracks_sla(self) -> bool:
        """True when some route or severity has an SLA target; without one nothing needs timing."""
        return self.shortest_sla_target is not None

    @property
    def shortest_sla_target(self) -> timedelta | None:
        """The shortest target of any kind, route or severity: no incident breaches sooner after its trigger."""
        targets = [*self.sla.values(), *(r.sla for r in (*self.routes.routes, self.routes.default) if r.sla)]
        spans = [span for t in targets for span in (t.ack, t.resolve) if span is not None]
        return min(spans, default=None)

    def sla_target(self, route_id: str, severity: str) -> SlaTarget:
        """The SLA target of an incident of this route and severity (the route's wins, kind by kind)."""
        by_route = {r.id: r.sla for r in self.routes.routes if r.sla is not None}
        return target_for(by_route, self.sla, route_id, severity)

    def secrets(self) -> list[str]:
        """The secrets the config holds (routing keys, webhook secrets), so that logs can be scrubbed of them."""
        found = [i.routing_key for i in self.integrations] + [w.secret for w in self.routes.webhooks if w.secret]
        return found + [r.pagerduty.routing_key for r in self.routes.routes if r.pagerduty is not None]


def parse_config(data: object, default_route: Route | None = None) -> Config:
    """Check a parsed YAML document (None for an empty file); ConfigError lists every problem."""
    problems = Problems()
    top = Fields({} if data is None else data, "", problems, TOP_KEYS)
    users = read_users(top.data.get("users"), problems)
    user_ids = {u.id for u in users} | _ids_seen(top.data.get("users"))
    schedules, schedule_ids = read_schedules(top.data.get("schedules"), problems, user_ids)
    policies, policy_ids = read_policies(top.data.get("escalation_policies"), problems, user_ids, schedule_ids)
    route_ids = route_ids_seen(top.data.get("routes"))
    templates, template_ids = read_templates(top.data.get("templates"), problems, route_ids, policy_ids)
    by_id = {t.id: t for t in templates}
    routes = read_routes(top.data.get("routes"), problems, policy_ids, by_id, template_ids)
    severity_sla = read_severity_sla(top.data.get("sla"), problems)
    integrations = read_integrations(top.data.get("integrations"), problems)
    webhooks = read_webhooks(top.data.get("webhooks"), problems)
    strangers = _choice(top, "chat_strangers", CHAT_STRANGERS)
    heartbeats = read_heartbeats(top.data.get("heartbeats"), problems)
    windows = read_maintenance(top.data.get("maintenance"), problems)
    if problems.items:
        raise ConfigError(problems.items)
    table = RouteTable(routes=routes, default=default_route or Route(id="default"), webhooks=webhooks,
                       windows=windows)
    return Config(users=users, schedules=schedules, policies=policies, routes=table, sla=severity_sla,
                  templates=templates, integrations=integrations, chat_strangers=strangers, heartbeats=heartbeats)


def _choice(fields: Fields, key: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first is the default)."""
    value = fields.data.get(key, choices[0])
    if value not in choices:
        fields.wrong(key, f"expected {', '.join(sorted(choices)[:-1])} or {sorted(choices)[-1]}")
        return choices[0]
    return str(value)


def _ids_seen(section: object) -> set[str]:
    """Ids of entries with other problems, so that references to them are not reported as unknown too."""
    if not isinstance(section, list):
        return set()
    return {item["id"] for item in section if isinstance(item, dict) and isinstance(item.get("id"), str)}


def read_users(value: object, problems: Problems) -> tuple[User, ...]:
    """The `users` section."""
    users: list[User] = []
    ids: dict[str, str] = {}
    slack_ids: dict[str, str] = {}
    telegram_ids: dict[str, str] = {}
    discord_ids: dict[str, str] = {}
    mattermost_ids: dict[str, str] = {}
    phones: dict[str, str] = {}
    for item, path in each_mapping(value, "users", problems, "users"):
        mark = problems.mark()
        fields = Fields(item, path, problems, USER_KEYS, ("id",))
        user_id = fields.identifier("id")
        check_unique(ids, user_id, fields.at("id"), problems)
        name = fields.text("name", expected="expected the person's name as text")
        email = fields.text("email", EMAIL, EMAIL_EXPECTED)
        slack_id = fields.text("slack_id", SLACK_USER, SLACK_USER_EXPECTED)
        check_unique(slack_ids, slack_id, fields.at("slack_id"), problems, "slack_id")
        telegram = fields.text("telegram_id", TELEGRAM_USER, TELEGRAM_USER_EXPECTED, numbers=True)
        check_unique(telegram_ids, telegram, fields.at("telegram_id"), problems, "telegram_id")
        discord_id = fields.text("discord_id", DISCORD_ID, DISCORD_USER_EXPECTED, numbers=True)
        check_unique(discord_ids, discord_id, fields.at("discord_id"), problems, "discord_id")
        mattermost_id = fields.text("mattermost_id", MATTERMOST_USER, MATTERMOST_USER_EXPECTED)
        check_unique(mattermost_ids, mattermost_id, fields.at("mattermost_id"), problems, "mattermost_id")
        have = {"email": email, "slack_id": slack_id, "telegram_id": telegram, "discord_id": discord_id,
                "mattermost_id": mattermost_id}
        paging = read_paging(fields, have)
        check_unique(phones, paging.phone, fields.at("phone"), problems, "phone")  # an SMS reply names its sender
        role = _choice(fields, "role", USER_ROLES) if fields.ok else "responder"
        if problems.clean_since(mark) and user_id:
            telegram_id = int(telegram) if telegram else None
            users.append(User(user_id, name or user_id, email, slack_id, telegram_id, discord_id, mattermost_id,
                              paging.phone, paging.ntfy_topic, paging.pushover_user, paging.notification_rules, role))
    return tuple(users)


def read_policies(
    value: object, problems: Problems, user_ids: Set[str], schedule_ids: Set[str]
) -> tuple[tuple[Policy, ...], set[str]]:
    """The `escalation_policies` section, and every policy id seen."""
    policies: list[Policy] = []
    seen: dict[str, str] = {}
    for item, path in each_mapping(value, "escalation_policies", problems, "escalation policies"):
        mark = problems.mark()
        fields = Fields(item, path, problems, POLICY_KEYS, ("id", "steps"))
        policy_id = fields.identifier("id")
        check_unique(seen, policy_id, fields.at("id"), problems)
        items = fields.items("steps", "steps", nonempty=True)
        steps = [_step(s, at, problems, user_ids, schedule_ids) for s, at in items]
        _check_order(steps, fields.at("steps"), problems)
        repeat = fields.integer("repeat", 0, 0, MAX_REPEAT)
        ack_timeout, remind_every = _ack_duration(fields, "ack_timeout"), _ack_duration(fields, "remind_every")
        if problems.clean_since(mark) and policy_id:
            policies.append(Policy(id=policy_id, steps=tuple(s for s in steps if s), repeat=repeat,
                                   ack_timeout=ack_timeout, remind_every=remind_every))
    return tuple(policies), set(seen)


def _check_order(steps: list[Step | None], path: str, problems: Problems) -> None:
    previous: Step | None = None
    for index, step in enumerate(steps):
        if step and previous and step.after < previous.after:
            problems.add(f"{path}[{index}].after", "earlier than the step before it; expected steps in order of after")
        previous = step or previous


def _step(value: object, path: str, problems: Problems, user_ids: Set[str], schedule_ids: Set[str]) -> Step | None:
    mark = problems.mark()
    fields = Fields(value, path, problems, STEP_KEYS, STEP_KEYS)
    after = fields.duration("after")
    targets = [
        _target(t, at, problems, user_ids, schedule_ids)
        for t, at in fields.items("notify", 'targets such as "user:alice"', nonempty=True)
    ]
    if problems.clean_since(mark) and after is not None:
        return Step(after=after, notify=tuple(t for t in targets if t))
    return None


def _target(value: object, path: str, problems: Problems, user_ids: Set[str], schedule_ids: Set[str]) -> Target | None:
    kind, _, ident = value.partition(":") if isinstance(value, str) else ("", "", "")
    known = {"user": user_ids, "schedule": schedule_ids}
    patterns = {
        "slack_channel": (SLACK_CHANNEL, SLACK_CHANNEL_EXPECTED),
        "telegram_chat": (TELEGRAM_CHAT, TELEGRAM_CHAT_EXPECTED),
        "discord_channel": (DISCORD_ID, DISCORD_CHANNEL_EXPECTED),
        "mattermost_channel": (MATTERMOST_ID, MATTERMOST_CHANNEL_EXPECTED),
    }
    if kind in known:
        if ident in known[kind]:
            return Target(kind, ident)
        section = "users" if kind == "user" else "schedules"
        problems.add(path, f"unknown {kind} {ident!r}; expected the id of one of {section}")
    elif kind in patterns:
        pattern, expected = patterns[kind]
        if pattern.fullmatch(ident):
            return Target(kind, ident)
        problems.add(path, f"got {ident!r}; {expected}")
    else:
        problems.add(path, f"got {describe(value)}; {TARGET_EXPECTED}")
    return None


def read_routes(
    value: object,
    problems: Problems,
    policy_ids: Set[str],
    templates: Mapping[str, Template] | None = None,
    template_ids: Set[str] = frozenset(),
) -> tuple[Route, ...]:
    """The `routes` section, in order (the first match wins)."""
    routes: list[Route] = []
    seen: dict[str, str] = {}
    for item, path in each_mapping(value, "routes", problems, "routes"):
        mark = problems.mark()
        fields = Fields(item, path, problems, ROUTE_KEYS)
        if fields.has("id") and fields.has("name"):
            problems.add(fields.at("name"), "both id and name are given; expected one of them")
        key = "id" if fields.has("id") else "name"
        route_id = fields.text(key, ROUTE_ID, "expected a route id as text (at most 100 characters)") or path
        if route_id == "default":
            problems.add(fields.at(key), "'default' is the default route's id; expected another id")
        check_unique(seen, route_id, fields.at(key), problems)
        matchers = matchers_of(fields)
        escalation = fields.identifier("escalation")
        if escalation is not None and escalation not in policy_ids:
            fields.problems.add(
                fields.at("escalation"),
                f"unknown escalation policy {escalation!r}; expected the id of one of escalation_policies",
            )
        slack = fields.text("slack_channel", SLACK_CHANNEL, SLACK_CHANNEL_EXPECTED)
        chats = _each_text(fields, "telegram_chat", "Telegram chat ids", TELEGRAM_CHAT, TELEGRAM_CHAT_EXPECTED)
        discord = fields.text("discord_channel", DISCORD_ID, DISCORD_CHANNEL_EXPECTED, numbers=True)
        mattermost = fields.text("mattermost_channel", MATTERMOST_ID, MATTERMOST_CHANNEL_EXPECTED)
        emails = _each_text(fields, "email", "email addresses", EMAIL, EMAIL_EXPECTED)
        group_by = _group_by(fields)
        auto_resolve = fields.boolean("auto_resolve", True)
        reopen_within = fields.duration("reopen_within", DEFAULT_REOPEN_WITHIN)
        sla = route_sla(fields, escalation)
        template = route_template(fields, templates or {}, template_ids)
        pagerduty, jira = read_pagerduty(fields), read_jira(fields)
        ack_timeout, remind_every = _ack_duration(fields, "ack_timeout"), _ack_duration(fields, "remind_every")
        flap_threshold = fields.integer("flap_threshold", DEFAULT_FLAP_THRESHOLD, 0, MAX_FLAP_THRESHOLD)
        flap_window = _bounded(fields, "flap_window", timedelta(minutes=1), timedelta(days=7), FLAP_WINDOW_EXPECTED)
        if problems.clean_since(mark):
            routes.append(
                Route(
                    id=route_id,
                    matchers=tuple(matchers),
                    escalation=escalation,
                    slack_channel=slack,
                    telegram_chats=chats,
                    email=emails,
                    discord_channel=discord,
                    mattermost_channel=mattermost,
                    group_by=group_by,
                    auto_resolve=auto_resolve,
                    reopen_within=DEFAULT_REOPEN_WITHIN if reopen_within is None else reopen_within,
                    sla=sla,
                    template=template,
                    pagerduty=pagerduty,
                    jira=jira,
                    ack_timeout=ack_timeout,
                    remind_every=remind_every,
                    flap_threshold=flap_threshold,
                    flap_window=flap_window or DEFAULT_FLAP_WINDOW,
                )
            )
    return tuple(routes)


def _bounded(fields: Fields, key: str, low: timedelta, high: timedelta, expected: str) -> timedelta | None:
    """A duration from `low` to `high`, or None (absent, or reported as wrong)."""
    value = fields.duration(key)
    if value is not None and not low <= value <= high:
        fields.wrong(key, expected)
        return None
    return value


def _ack_duration(fields: Fields, key: str) -> timedelta | None:
    """ack_timeout or remind_every: from 1m to 30d."""
    return _bounded(fields, key, timedelta(minutes=1), timedelta(days=30), ACK_DURATION_EXPECTED)



def _each_text(fields: Fields, key: str, what: str, pattern: re.Pattern[str], expected: str) -> tuple[str, ...]:
    values: list[str] = []
    for value, at in fields.items(key, what, allow_single=True):
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if isinstance(text, str) and pattern.fullmatch(text):
            values.append(text)
        else:
            fields.problems.add(at, f"got {describe(value)}; {expected}")
    return tuple(values)


def _group_by(fields: Fields) -> tuple[str, ...] | None:
    if fields.data.get("group_by") is None:
        return None
    names: list[str] = []
    for name, at in fields.items("group_by", "label names"):
        if not isinstance(name, str) or not (LABEL_NAME.fullmatch(name) or name == "..."):
            fields.problems.add(at, f"got {describe(name)}; expected a label name, or '...' to group by all labels")
        elif name in names:
            fields.problems.add(at, f"label {name!r} is listed twice; expected each label once")
        else:
            names.append(name)
    if "..." in names and len(names) > 1:
        fields.problems.add(fields.at("group_by"), "'...' (all labels) is not alone; expected ['...'] or label names")
    return tuple(names)
