"""Alertmanager label matchers: `name="value"`, `name!="value"`, `name=~"regex"`, `name!~"regex"`.

Parsing follows Alertmanager's classic parser (pkg/labels/parse.go): the value may be quoted or not,
`\\"`, `\\\\` and `\\n` are escapes inside it, and a list item may hold several matchers
(`{a="1", b=~"2"}`). Regexes are anchored as Alertmanager anchors them (`^(?:regex)$`), and a label
that is missing matches as the empty string.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

from store.domain.re2compat import RE2_EXPECTED, translate

OPERATORS = ("=", "!=", "=~", "!~")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# Go's \s is [\t\n\f\r ]; `=~` must come before `=` so that the `~` is not taken as part of the value.
_MATCHER = re.compile(r"[\t\n\f\r ]*([^\t\n\f\r =!~]*)[\t\n\f\r ]*(=~|=|!=|!~)[\t\n\f\r ]*(.*?)[\t\n\f\r ]*", re.DOTALL)
_LEADING_FLAGS = re.compile(r"\(\?([imsU]+)\)")
EXPECTED = 'expected name="value", name!="value", name=~"regex" or name!~"regex"'


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher; `matches` treats a missing label as the empty string. ValueError when invalid."""

    name: str
    op: str
    value: str
    _regex: re.Pattern[str] | None = field(init=False, default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not LABEL_NAME.fullmatch(self.name):
            raise ValueError(
                f"{self.name!r} is not a valid label name; "
                "expected letters, digits and underscores, not starting with a digit"
            )
        if self.op not in OPERATORS:
            raise ValueError(f"{self.op!r} is not a matcher operator; expected one of {', '.join(OPERATORS)}")
        if self.op in ("=~", "!~"):
            object.__setattr__(self, "_regex", compile_anchored(self.value))

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when the label (or "" when it is missing) satisfies this matcher."""
        actual = labels.get(self.name, "")
        if self._regex is None:
            return (actual == self.value) == (self.op == "=")
        found = self._regex.search(actual) is not None
        return found == (self.op == "=~")

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'


def compile_anchored(pattern: str) -> re.Pattern[str]:
    """Compile a regex anchored at both ends, as Alertmanager does (`^(?:pattern)$`); ValueError when invalid."""
    body = translate(pattern)
    # Python accepts global flags only at the very start, so hoist a leading "(?i)" out of the anchoring group;
    # in RE2 it applies to the rest of that group, which is the whole pattern: the meaning is the same.
    flags = ""
    leading = _LEADING_FLAGS.match(body)
    if leading:
        if "U" in leading.group(1):
            raise ValueError(f"regex {pattern!r} uses the ungreedy flag U; expected flags among i, m and s")
        flags, body = leading.group(0), body[leading.end() :]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # Python's notes on "--" or "[" in a set: literals in RE2 too
        try:
            # \A and \Z (not ^ and $) keep Go's meaning of "^(?:...)$" even under a leading (?m)
            return re.compile(rf"{flags}\A(?:{body})\Z", re.ASCII)
        except re.error:
            pass
        try:  # compiled alone, the pattern gives an error message that points into it
            re.compile(flags + body, re.ASCII)
            message = "it cannot be anchored"
        except re.error as exc:
            message = exc.msg if exc.pos is None else f"{exc.msg} at position {exc.pos}"
            if "global flags" in exc.msg:
                message += "; write (?i) at the very start, or scope it as (?i:...)"
    raise ValueError(f"invalid regex {pattern!r} ({message}); {RE2_EXPECTED}")


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher such as `severity="critical"` or `team=~"db|infra"`; ValueError says what was wrong."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not text; {EXPECTED}")
    parts = _MATCHER.fullmatch(text)
    if parts is None:
        raise ValueError(f"{text!r} is not a matcher; {EXPECTED}")
    name, op, raw = parts.groups()
    if not name:
        raise ValueError(f"{text!r} has no label name; {EXPECTED}")
    if raw[:1] in ("=", "~", "!") and raw[1:2] == '"':  # a="=x" is a value, a=="x" a typo of the operator
        raise ValueError(f"{text!r} has no operator {op + raw[0]!r}; {EXPECTED}")
    return Matcher(name, op, _unescape(raw, text))


def _unescape(raw: str, text: str) -> str:
    quoted = raw.startswith('"')
    if quoted:
        raw = raw[1:]
    out: list[str] = []
    escaped = False
    last = len(raw) - 1
    for i, char in enumerate(raw):
        if escaped:
            escaped = False
            out.append({"n": "\n", '"': '"', "\\": "\\"}.get(char, "\\" + char))
        elif char == "\\":
            if i < last:
                escaped = True
            else:
                out.append("\\")
        elif char == '"':
            if not quoted or i < last:
                raise ValueError(f'{text!r}: the value has an unescaped double quote; expected \\" for a quote in it')
            quoted = False
        else:
            out.append(char)
    if quoted:
        raise ValueError(f"{text!r}: the value's opening double quote is never closed; expected a closing \"")
    return "".join(out)


def parse_matchers(text: str) -> list[Matcher]:
    """Parse comma-separated matchers, optionally in braces: `{a="1", b!~"x|y"}` (`{}` is none, as in Alertmanager)."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not text; {EXPECTED}")
    body = text.strip()
    body = body[1:] if body.startswith("{") else body
    body = body[:-1] if body.endswith("}") else body
    tokens: list[str] = []
    current: list[str] = []
    in_quotes = escaped = False
    for char in body:
        if char == "," and not in_quotes:
            tokens.append("".join(current))
            current = []
            continue
        if char == '"' and not escaped:
            in_quotes = not in_quotes
        escaped = char == "\\" and not escaped
        current.append(char)
    if "".join(current).strip():
        tokens.append("".join(current))
    if not text.strip():
        raise ValueError(f"empty text; {EXPECTED} (or {{}} for none)")
    return [parse_matcher(token) for token in tokens]
