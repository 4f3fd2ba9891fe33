"""The vulnerability audit's verdict: findings fail unless allowed with a reason and an unexpired date."""

from __future__ import annotations

import datetime as dt

from tools.audit import judge, read_allow

TODAY = dt.date(2026, 12, 5)
REPORT = {
    "dependencies": [
        {"name": "aiohttp", "version": "3.9.0", "vulns": [
            {"id": "PYSEC-2024-1", "aliases": ["GHSA-aaaa-bbbb-cccc"], "fix_versions": ["3.9.4"]}]},
        {"name": "jinja2", "version": "3.1.2", "vulns": [{"id": "GHSA-dddd-eeee-ffff", "fix_versions": []}]},
        {"name": "pyyaml", "version": "6.0.2", "vulns": []},
    ]
}


def test_an_unlisted_finding_fails_and_names_the_fix() -> None:
    verdict = judge(REPORT, {})
    assert verdict.problems == [
        "aiohttp 3.9.0: PYSEC-2024-1 (fixed in 3.9.4)", "jinja2 3.1.2: GHSA-dddd-eeee-ffff (fixed in no release yet)"]
    assert verdict.audited == 3 and verdict.skipped == 0


def test_an_allowed_finding_passes_by_id_or_alias() -> None:
    allowed, problems = read_allow(
        '[[allow]]\nid = "GHSA-aaaa-bbbb-cccc"\nreason = "the client side only"\nexpires = 2027-01-31\n'
        '[[allow]]\nid = "GHSA-dddd-eeee-ffff"\nreason = "sandboxed templates unused"\nexpires = 2026-12-05\n', TODAY)
    verdict = judge(REPORT, allowed)
    assert problems == [] and verdict.problems == []
    assert verdict.notes[0].endswith("allowed until 2027-01-31: the client side only")


def test_expired_or_incomplete_entries_fail() -> None:
    allowed, problems = read_allow(
        '[[allow]]\nid = "PYSEC-2024-1"\nreason = "later"\nexpires = 2026-12-04\n'
        '[[allow]]\nid = "GHSA-dddd-eeee-ffff"\nexpires = 2027-01-01\n'
        '[[allow]]\nid = "X"\nreason = "no date"\n', TODAY)
    assert allowed == {}
    assert problems == [
        "audit-allow.toml: PYSEC-2024-1 expired on 2026-12-04: fix it or look again (later)",
        "audit-allow.toml: allow[1]: expected an id and a reason",
        "audit-allow.toml: X: expected expires = YYYY-MM-DD",
    ]


def test_packages_the_service_did_not_answer_for_are_counted() -> None:
    verdict = judge({"dependencies": [{"name": "x", "version": "1", "skip_reason": "not found"}]}, {})
    assert verdict.skipped == 1 and verdict.audited == 0 and verdict.problems == []


def test_the_shipped_allow_file_is_valid() -> None:
    from tools.audit import ALLOW

    assert read_allow(ALLOW.read_text(), TODAY)[1] == []
