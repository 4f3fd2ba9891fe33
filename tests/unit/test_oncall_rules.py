"""Pure rules of acknowledgement lapses and reminders, flap counting and heartbeats; their config keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.domain import acks, flapping, heartbeats
from store.domain.config_schema import ConfigError, parse_config
from store.domain.escalation import Policy, Step, next_step, resumed_trigger, step_due_at
from store.domain.routing import Route

T0 = datetime(2026, 11, 26, 19, 0, tzinfo=UTC)
minutes = st.integers(1, 600).map(lambda m: timedelta(minutes=m))
maybe_minutes = st.none() | minutes
# When a scheduler looks: increasing offsets from T0, with gaps of seconds to hours (it may be down a while).
wakeups = st.lists(st.integers(1, 6 * 3600), min_size=1, max_size=40).map(
    lambda gaps: [T0 + timedelta(seconds=sum(gaps[: i + 1])) for i in range(len(gaps))])


def run_scheduler(timers: acks.AckTimers, every: timedelta | None, times: list[datetime]) -> list[tuple[str, datetime]]:
    """What a scheduler does when it looks at these times: (action, when), stopping at a lapse."""
    done = []
    for now in times:
        action = acks.due(timers, now)
        if action == acks.LAPSE:
            done.append((action, now))
            break
        if action == acks.REMIND:
            done.append((action, now))
            timers = acks.after_reminder(timers, now, every)
    return done


@settings(max_examples=400)
@given(maybe_minutes, maybe_minutes, wakeups)
def test_lapse_and_reminders_whatever_the_scheduler_missed(
    timeout: timedelta | None, every: timedelta | None, times: list[datetime]
) -> None:
    timers = acks.plan(T0, acks.AckRules(timeout, every))
    done = run_scheduler(timers, every, times)
    lapses = [when for action, when in done if action == acks.LAPSE]
    reminders = [when for action, when in done if action == acks.REMIND]
    if timeout is None:
        assert not lapses
    else:
        due = [t for t in times if t >= T0 + timeout]
        assert lapses == due[:1]  # once, at the first look after it was due
        assert all(r < T0 + timeout for r in reminders)  # never a reminder at or after the lapse
    if every is None:
        assert not reminders
    else:
        assert all(later - earlier >= every for earlier, later in zip(reminders, reminders[1:], strict=False))
        assert all(r >= T0 + every for r in reminders)
        for earlier, later in zip(times, times[1:], strict=False):  # at most one reminder per look
            assert sum(1 for r in reminders if earlier < r <= later) <= 1


def test_snooze_lapses_at_its_own_end_and_the_route_overrides_the_policy() -> None:
    policy = Policy("p", (Step(timedelta(0), ()),), ack_timeout=timedelta(hours=4), remind_every=timedelta(hours=1))
    rules = acks.rules_for(Route("r", ack_timeout=timedelta(minutes=30)), policy)
    assert rules == acks.AckRules(timedelta(minutes=30), timedelta(hours=1))
    assert acks.rules_for(Route("r"), None) == acks.AckRules()
    snoozed = acks.plan(T0, rules, snoozed_until=T0 + timedelta(hours=2))
    assert snoozed == acks.AckTimers(T0 + timedelta(hours=2), T0 + timedelta(hours=1))
    assert acks.plan(T0, rules).next_reminder_at is None  # a reminder after the lapse is dropped
    assert acks.lapse_message("alice", T0, T0 + timedelta(minutes=31), False) == (
        "Acknowledgement by alice lapsed after 31m: triggered again")


@settings(max_examples=300)
@given(st.lists(st.integers(0, 7200), max_size=60), st.integers(0, 8), st.integers(60, 7200))
def test_flap_counting_with_a_few_kept_changes_equals_counting_all(offsets: list[int], threshold: int,
                                                                  window_s: int) -> None:
    window = timedelta(seconds=window_s)
    kept: list[datetime] = []
    history: list[datetime] = []
    for at in sorted(T0 + timedelta(seconds=o) for o in offsets):
        kept = flapping.with_change(kept, at, window, threshold)
        history.append(at)
        expected = threshold > 0 and sum(1 for c in history if at - window < c <= at) > threshold
        assert flapping.is_flapping(kept, at, window, threshold) == expected
        assert len(kept) <= flapping.kept(threshold)
        assert kept[-1] == at


def test_settled_after_a_quiet_window() -> None:
    assert flapping.settled(T0, T0 + timedelta(hours=1), timedelta(hours=1))
    assert not flapping.settled(T0, T0 + timedelta(minutes=59), timedelta(hours=1))
    assert flapping.describe(4, timedelta(hours=1)) == "more than 4 state changes within 1h"


def test_resumed_escalation_keeps_the_spacing_of_the_next_step() -> None:
    policy = Policy("p", (Step(timedelta(0), ()), Step(timedelta(minutes=15), ()), Step(timedelta(minutes=40), ())))
    at = T0 + timedelta(hours=3)
    for fired, gap in ((1, timedelta(minutes=15)), (2, timedelta(minutes=25))):
        triggered = resumed_trigger(policy, fired, at)
        assert (next_step(policy, triggered, fired) or (0, 0, None))[2] == at + gap
        assert step_due_at(policy, triggered, fired - 1) == at  # as if the last one fired at the reopening
    assert resumed_trigger(policy, 0, at) == at


def test_heartbeat_status_and_when_its_alert_starts() -> None:
    beat = heartbeats.Heartbeat("am", timedelta(minutes=5), heartbeats.alert_labels("am", {"severity": "critical"}))
    never = heartbeats.HeartbeatState("am")
    up = heartbeats.HeartbeatState("am", last_seen_at=T0)
    assert heartbeats.status(None, T0) == heartbeats.status(never, T0) == "inactive"
    assert heartbeats.status(up, T0) == "up"
    assert not heartbeats.overdue(beat, never, T0 + timedelta(days=1))  # inactive until its first ping
    assert not heartbeats.overdue(beat, up, T0 + timedelta(minutes=4, seconds=59))
    assert heartbeats.overdue(beat, up, T0 + timedelta(minutes=5))
    down = heartbeats.HeartbeatState("am", last_seen_at=T0, down_since=T0 + timedelta(minutes=5))
    assert heartbeats.status(down, T0) == "down" and not heartbeats.overdue(beat, down, T0 + timedelta(hours=1))
    muted = heartbeats.HeartbeatState("am", last_seen_at=T0, muted_until=T0 + timedelta(hours=2))
    assert heartbeats.status(muted, T0 + timedelta(hours=1)) == "muted"
    assert not heartbeats.overdue(beat, muted, T0 + timedelta(hours=1))
    assert heartbeats.overdue(beat, muted, T0 + timedelta(hours=2))
    alert = heartbeats.missing_alert(beat, T0, T0 + timedelta(minutes=5))
    assert alert.labels == {"severity": "critical", "alertname": "HeartbeatMissing", "heartbeat": "am"}
    assert alert.annotations["summary"] == "No heartbeat from am since 2026-11-26 19:00:00 UTC"
    assert alert.firing and alert.fingerprint == heartbeats.fingerprint("am") and len(alert.fingerprint) == 16
    resolved = heartbeats.missing_alert(beat, T0, alert.starts_at, resolved_at=T0 + timedelta(hours=1))
    assert (resolved.fingerprint, resolved.starts_at, resolved.status) == (alert.fingerprint, alert.starts_at,
                                                                           "resolved")


@pytest.mark.parametrize(("body", "counts"), [
    (None, True), ("", True), ({"anything": 1}, True), ([1, 2], True),
    ({"version": "4", "status": "firing", "alerts": [{"status": "firing"}]}, True),
    ({"version": "4", "status": "resolved", "alerts": [{"status": "resolved"}]}, False),
    ({"version": "4", "alerts": []}, False),
])
def test_which_bodies_count_as_a_ping(body: object, counts: bool) -> None:
    assert heartbeats.counts_as_ping(body) is counts


def lines(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return caught.value.lines("tocsin.yml")


def test_bad_heartbeats_and_ack_keys_are_refused_one_line_each() -> None:
    assert lines({
        "heartbeats": [{"id": "am", "timeout": "1s", "labels": {"alertname": "x", "ok": True}, "token": "short"},
                       {"id": "am"}, {"id": "x", "timeout": "5m", "labels": ["a"], "extra": 1}],
        "routes": [{"id": "r", "ack_timeout": "5s", "remind_every": "31d", "flap_threshold": -1,
                    "flap_window": "30d"}],
        "escalation_policies": [{"id": "p", "steps": [{"after": "0m", "notify": ["slack_channel:C0OPS"]}],
                                 "remind_every": "x"}],
    }) == [
        "tocsin.yml: escalation_policies[0].remind_every: got the text 'x'; expected a duration such as 30s, 15m, "
        "2h, 1d or 1h30m",
        "tocsin.yml: routes[0].ack_timeout: got the text '5s'; expected a duration from 1m to 30d such as 30m",
        "tocsin.yml: routes[0].remind_every: got the text '31d'; expected a duration from 1m to 30d such as 30m",
        "tocsin.yml: routes[0].flap_threshold: got the number -1; expected a whole number from 0 to 1000",
        "tocsin.yml: routes[0].flap_window: got the text '30d'; expected a duration from 1m to 7d such as 1h",
        "tocsin.yml: heartbeats[0].timeout: got the text '1s'; expected a duration from 5s to 30d",
        "tocsin.yml: heartbeats[0].labels.alertname: is set by Tocsin (alertname HeartbeatMissing, heartbeat: the "
        "id); expected another label",
        "tocsin.yml: heartbeats[0].labels.ok: got the boolean true; expected the label's value as text",
        "tocsin.yml: heartbeats[0].token: is 5 characters long; expected a token of at least 16 printable "
        "characters without spaces",
        "tocsin.yml: heartbeats[1].timeout: missing; this key is required",
        "tocsin.yml: heartbeats[1].id: duplicate id 'am' (also at heartbeats[0].id); expected each id once",
        "tocsin.yml: heartbeats[2].extra: unknown key; expected one of id, timeout, labels, token",
        "tocsin.yml: heartbeats[2].labels: got a list; expected a mapping of label names to values such as "
        "{severity: critical}",
    ]


def test_good_heartbeats_and_route_keys_are_read() -> None:
    config = parse_config({
        "heartbeats": [{"id": "alertmanager", "timeout": "5m", "labels": {"severity": "critical", "team": "ops"},
                        "token": "0123456789abcdef-watchdog"}],
        "escalation_policies": [{"id": "p", "steps": [{"after": "0m", "notify": ["slack_channel:C0OPS"]}],
                                 "ack_timeout": "4h", "remind_every": "1h"}],
        "routes": [{"id": "r", "escalation": "p", "ack_timeout": "30m", "flap_threshold": 0, "flap_window": "2h"}],
    })
    beat = config.heartbeat("alertmanager")
    assert beat is not None and beat.timeout == timedelta(minutes=5) and beat.token == "0123456789abcdef-watchdog"
    assert beat.labels == {"severity": "critical", "team": "ops", "alertname": "HeartbeatMissing",
                           "heartbeat": "alertmanager"}
    assert "watchdog" not in repr(beat)  # the token never shows in a log line
    route = config.routes.routes[0]
    assert (route.ack_timeout, route.remind_every, route.flap_threshold, route.flap_window) == (
        timedelta(minutes=30), None, 0, timedelta(hours=2))
    assert acks.rules_for(route, config.policy("p")) == acks.AckRules(timedelta(minutes=30), timedelta(hours=1))
    default = parse_config({"routes": [{"id": "d"}]}).routes.routes[0]
    assert (default.flap_threshold, default.flap_window) == (4, timedelta(hours=1))
