"""Whom an escalation step reaches at a given instant, and the timeline line that says so."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from store.domain.config_schema import Config
from store.domain.escalation import Target
from store.domain.notify import rules_text
from store.domain.oncall import on_call_at
from store.domain.users import User


def user_target(user: User, via: str | None = None) -> dict[str, Any]:
    """A user as the delivery layer reads it from the event's data: every contact they have (a phone as a text
    message), or, for a user with notification rules, the rules in words (they page them one by one)."""
    target: dict[str, Any] = {"kind": "user", "id": user.id, "name": user.name}
    if user.notification_rules:
        target["rules"] = rules_text(user.notification_rules)
    else:
        target.update(email=user.email, slack_id=user.slack_id, telegram_id=user.telegram_id)
        for key in ("discord_id", "mattermost_id", "ntfy_topic", "pushover_user", "phone"):  # only when set
            if getattr(user, key):
                target[key] = getattr(user, key)
    if via is not None:
        target["via"] = via
    return target


def resolve_targets(config: Config, targets: Sequence[Target], at: datetime) -> list[dict[str, Any]]:
    """The step's targets at instant `at`: schedules become their on-call user; each person or channel once."""
    resolved: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()

    def add(entry: dict[str, Any]) -> None:
        key = (entry["kind"], entry["id"])
        if key not in seen:
            seen.add(key)
            resolved.append(entry)

    for target in targets:
        if target.kind == "user":
            user = config.user(target.id)
            add(user_target(user) if user else {"kind": "user", "id": target.id, "name": target.id})
        elif target.kind == "schedule":
            schedule = config.schedule(target.id)
            on_call = on_call_at(schedule, at).user if schedule else None
            user = config.user(on_call) if on_call else None
            if user is not None:
                add(user_target(user, via=f"schedule:{target.id}"))
            else:
                add({"kind": "schedule", "id": target.id, "user": on_call})
        else:
            add({"kind": target.kind, "id": target.id})
    return resolved


def contact_words(target: dict[str, Any]) -> list[str]:
    """How a resolved user is reached, in words: Slack DM, Telegram, email."""
    words = []
    if target.get("slack_id"):
        words.append("Slack DM")
    if target.get("telegram_id"):
        words.append("Telegram")
    if target.get("discord_id"):
        words.append("Discord DM")
    if target.get("mattermost_id"):
        words.append("Mattermost DM")
    if target.get("email"):
        words.append("email")
    if target.get("ntfy_topic") or target.get("pushover_user"):
        words.append("push")
    if target.get("phone"):
        words.append("SMS")
    if target.get("voice"):
        words.append("voice call")
    return words


def describe_resolved(target: dict[str, Any]) -> str:
    """One resolved target in words: "Carol (Slack DM, email)", "#C0LEADS", "Telegram chat -1001"."""
    kind = target["kind"]
    if kind == "user":
        contacts = f"notification rules: {target['rules']}" if target.get("rules") else \
            ", ".join(contact_words(target)) or "no contact"
        via = target.get("via", "")
        prefix = f"on call for {via.removeprefix('schedule:')}; " if via else ""
        return f"{target.get('name') or target['id']} ({prefix}{contacts})"
    if kind == "schedule":
        return f"nobody on call for {target['id']}"
    if kind == "slack_channel":
        return f"#{target['id']}"
    if kind in ("discord_channel", "mattermost_channel"):
        return f"{kind.removesuffix('_channel').capitalize()} channel {target['id']}"
    return f"Telegram chat {target['id']}"


def step_message(step: int, passes: int, resolved: Sequence[dict[str, Any]]) -> str:
    """The timeline line: "Escalated to step 2: notified Carol (Slack DM, email) and #C0LEADS"."""
    words = [describe_resolved(t) for t in resolved]
    listed = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}" if words else "nobody"
    where = f"step {step}" if passes == 1 else f"step {step} (pass {passes})"
    return f"Escalated to {where}: notified {listed}"
