"""Alertmanager matchers: the classic parser's syntax, anchoring, missing labels, errors."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.domain.matchers import Matcher, parse_matcher, parse_matchers
from store.domain.routing import LabelMatcher

NAMES = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,20}", fullmatch=True)
VALUES = st.text(max_size=30)
LABELS = st.dictionaries(st.sampled_from(["a", "b", "severity", "team"]), st.text(max_size=10), max_size=4)


@pytest.mark.parametrize(
    ("text", "name", "op", "value"),
    [
        ('severity="critical"', "severity", "=", "critical"),
        ('severity!="info"', "severity", "!=", "info"),
        ('team=~"db|infra"', "team", "=~", "db|infra"),
        ('team!~"web.*"', "team", "!~", "web.*"),
        ("foo=bar", "foo", "=", "bar"),  # unquoted values, as Alertmanager accepts
        ("foo=~bar.*", "foo", "=~", "bar.*"),
        ("  foo  =  bar  ", "foo", "=", "bar"),
        ('foo = "bar baz"', "foo", "=", "bar baz"),
        ("foo=bar baz", "foo", "=", "bar baz"),
        ('foo=""', "foo", "=", ""),
        ("foo=", "foo", "=", ""),
        ('foo!=""', "foo", "!=", ""),
        ('_x9="v"', "_x9", "=", "v"),
        ('foo="a\\"b"', "foo", "=", 'a"b'),  # escaped quote
        ('foo="a\\\\b"', "foo", "=", "a\\b"),  # escaped backslash
        ('foo="a\\nb"', "foo", "=", "a\nb"),  # \n is a newline
        ('foo="a\\rb"', "foo", "=", "a\\rb"),  # a spurious escape keeps its backslash
        ("foo=a\\", "foo", "=", "a\\"),  # a final backslash is literal
        ('foo="βär ✓"', "foo", "=", "βär ✓"),
        ('foo="=x"', "foo", "=", "=x"),
        ("foo==x", "foo", "=", "=x"),  # Alertmanager takes the second = as part of the value
        ('foo="a,b"', "foo", "=", "a,b"),
        ('foo=~"\\\\d+"', "foo", "=~", "\\d+"),
    ],
)
def test_parses_alertmanager_syntax(text: str, name: str, op: str, value: str) -> None:
    assert parse_matcher(text) == Matcher(name, op, value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is not a matcher"),
        ("foo", "is not a matcher"),
        ('foo=="bar"', "no operator '=='"),
        ('foo=!"bar"', "no operator '=!'"),
        ('="bar"', "no label name"),
        ('0foo="bar"', "not a valid label name"),
        ('foo-bar="x"', "not a valid label name"),
        ('foo.bar="x"', "not a valid label name"),
        ('foo bar="x"', "is not a matcher"),
        ('foo="bar', "never closed"),
        ('foo="bar\\"', "never closed"),
        ('foo="', "never closed"),
        ('foo="bar"baz"', "unescaped double quote"),
        ('foo=bar"', "unescaped double quote"),
        ('foo="a" "b"', "unescaped double quote"),
        ('foo=~"("', "invalid regex"),
        ('foo=~"[a-"', "invalid regex"),
        ('foo!~"*"', "invalid regex"),
        ('foo=~"a(?=b)"', "RE2 lacks"),
        ('foo=~"a(?!b)"', "RE2 lacks"),
        ('foo=~"(?<=a)b"', "RE2 lacks"),
        ('foo=~"(a)\\\\1"', "backreference"),
        ('foo=~"(a)\\\\9"', "backreference"),
        ('foo=~"(?>a)"', "RE2 lacks"),
        ('foo=~"(?#note)a"', "RE2 lacks"),
        ('foo=~"(?(1)a|b)"', "RE2 lacks"),
        ('foo=~"[[:letters:]]"', "unknown class [:letters:]"),
        ('foo=~"(?U)a+"', "ungreedy"),
        ('foo=~"a(?i)b"', "(?i:...)"),
    ],
)
def test_refuses_bad_matchers_with_a_clear_message(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)) as caught:
        parse_matcher(text)
    assert "expected" in str(caught.value)


def test_refuses_what_is_not_text() -> None:
    with pytest.raises(ValueError, match="not text"):
        parse_matcher(42)  # type: ignore[arg-type]


def test_constructor_checks_too() -> None:
    with pytest.raises(ValueError, match="label name"):
        Matcher("1x", "=", "v")
    with pytest.raises(ValueError, match="operator"):
        Matcher("x", "==", "v")
    with pytest.raises(ValueError, match="invalid regex"):
        Matcher("x", "=~", "(")


def test_equality_and_inequality() -> None:
    assert parse_matcher('severity="critical"').matches({"severity": "critical"})
    assert not parse_matcher('severity="critical"').matches({"severity": "Critical"})
    assert parse_matcher('severity!="critical"').matches({"severity": "warning"})
    assert not parse_matcher('severity!="critical"').matches({"severity": "critical"})


def test_a_missing_label_matches_as_the_empty_string() -> None:
    assert parse_matcher('team=""').matches({})
    assert not parse_matcher('team!=""').matches({})
    assert parse_matcher('team!="db"').matches({})
    assert not parse_matcher('team="db"').matches({})
    assert parse_matcher('team=~"db|"').matches({})
    assert parse_matcher('team=~".*"').matches({})
    assert not parse_matcher('team=~".+"').matches({})
    assert parse_matcher('team!~".+"').matches({})


@pytest.mark.parametrize(
    ("regex", "value", "expected"),
    [
        ("foo", "foo", True),
        ("foo", "xfoo", False),
        ("foo", "foox", False),
        ("foo", "foo\n", False),  # Python's $ would allow a final newline; Alertmanager's anchor does not
        ("foo$", "foo\n", False),
        ("db|infra", "infra", True),
        ("db|infra", "dbx", False),
        ("db|infra", "xinfra", False),
        ("a|ab", "ab", True),
        ("web.*", "web-1", True),
        ("web.*", "my-web", False),
        ("(?i)CRIT.*", "critical", True),
        ("(?i:CRIT)ical", "critical", True),
        ("(?m)a$", "a\nb", False),  # the anchor stays on the whole value under (?m)
        ("(?s)a.b", "a\nb", True),
        ("a.b", "a\nb", False),
        ("\\d+", "123", True),
        ("\\d+", "١٢٣", False),  # \d is ASCII in RE2
        ("x)|(y", "xz", True),  # wrapped as ^(?:x)|(y)$, exactly as Alertmanager wraps it
        ("x)|(y", "zy", True),
        ("x)|(y", "zz", False),
        ("(?P<n>a)b", "ab", True),
        ("[[:alpha:]]+", "abcXYZ", True),  # POSIX classes, which Python would read as a set of ":alph"
        ("[[:alpha:]]+", "a:", False),
        ("[[:digit:][:upper:]_]+", "A1_", True),
        ("[^[:space:]]+", "a b", False),
        ("[[:punct:]]", "\\", True),
        ("[[:punct:]]", "a", False),
        ("[]a]+", "]a", True),  # a leading ] is a literal
        ("[a[]+", "[a", True),  # so is a [ inside a class
        ("a\\z", "a", True),  # RE2's \z is Python's \Z
        ("\\(?=x", "(=x", True),  # an escaped ( opens no lookahead
        ("[(?=]+", "(?=", True),  # nor does one inside a class
        ("[a-]+", "-a", True),
        ("a\\12", "a\n", True),  # RE2 reads \12 as octal (a newline), not as a backreference
        ("a\\101", "aA", True),
    ],
)
def test_regexes_are_anchored_as_alertmanager_anchors_them(regex: str, value: str, expected: bool) -> None:
    assert Matcher("l", "=~", regex).matches({"l": value}) is expected
    assert Matcher("l", "!~", regex).matches({"l": value}) is not expected


def test_an_escaped_backslash_before_a_digit_is_no_backreference() -> None:
    assert Matcher("l", "=~", "a\\\\1").matches({"l": "a\\1"})


def test_satisfies_the_label_matcher_protocol() -> None:
    matcher: LabelMatcher = parse_matcher('a="b"')
    assert matcher.matches({"a": "b"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{foo="bar", baz!~"qux.*"}', [Matcher("foo", "=", "bar"), Matcher("baz", "!~", "qux.*")]),
        ('foo="bar",baz=qux', [Matcher("foo", "=", "bar"), Matcher("baz", "=", "qux")]),
        ('foo="a,b", c="d"', [Matcher("foo", "=", "a,b"), Matcher("c", "=", "d")]),
        ('foo="a\\",b"', [Matcher("foo", "=", 'a",b')]),
        ('foo="bar",', [Matcher("foo", "=", "bar")]),
        ("{}", []),
    ],
)
def test_parse_matchers_takes_alertmanager_lists(text: str, expected: list[Matcher]) -> None:
    assert parse_matchers(text) == expected


@pytest.mark.parametrize("text", ["", "  ", ',foo="bar"', '{foo="bar", 1x="y"}', 'a="b" c="d"'])
def test_parse_matchers_refuses_bad_lists(text: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_matchers(text)


@given(NAMES, st.sampled_from(["=", "!="]), VALUES)
def test_text_form_round_trips(name: str, op: str, value: str) -> None:
    matcher = Matcher(name, op, value)
    assert parse_matcher(str(matcher)) == matcher
    assert parse_matchers("{" + str(matcher) + "}") == [matcher]


@given(NAMES, VALUES, LABELS)
def test_equality_means_the_label_or_empty_equals_the_value(name: str, value: str, labels: dict[str, str]) -> None:
    assert Matcher(name, "=", value).matches(labels) is (labels.get(name, "") == value)
    assert Matcher(name, "!=", value).matches(labels) is (labels.get(name, "") != value)


@given(st.sampled_from(["a", "b", "team"]), st.text(max_size=6), LABELS)
def test_an_escaped_literal_regex_matches_exactly_like_equality(name: str, value: str, labels: dict) -> None:
    regex = Matcher(name, "=~", re.escape(value))
    assert regex.matches(labels) is Matcher(name, "=", value).matches(labels)
    assert Matcher(name, "!~", re.escape(value)).matches(labels) is not regex.matches(labels)


@given(st.sampled_from(["a", "b"]), st.sampled_from(["x", "x+", "[ab]*", ".", "a|b", ""]), LABELS)
def test_missing_and_empty_labels_are_the_same(name: str, regex: str, labels: dict[str, str]) -> None:
    without = {k: v for k, v in labels.items() if k != name}
    for op in ("=~", "!~"):
        matcher = Matcher(name, op, regex)
        assert matcher.matches(without) is matcher.matches({**without, name: ""})
