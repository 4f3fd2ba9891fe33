"""Alertmanager's regexes are Go's RE2: translate what Python spells differently, refuse what RE2 lacks.

Without this, `[[:alpha:]]` would silently mean "one of `:alph`" in Python, and a lookahead that
Alertmanager refuses would be accepted here.
"""

from __future__ import annotations

# Go's POSIX classes (regexp/syntax), as Python character-class ranges.
POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
# Group openings Python knows and RE2 refuses: lookarounds, named backreferences, conditionals, atomic, comments.
PYTHON_ONLY_GROUPS = ("(?=", "(?!", "(?<=", "(?<!", "(?P=", "(?(", "(?>", "(?#")
RE2_EXPECTED = "expected an RE2 regular expression"


def translate(pattern: str) -> str:
    """The Python spelling of an RE2 pattern; ValueError for syntax RE2 lacks."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            following = pattern[i + 1]
            if following in "123456789":
                i = _octal(pattern, i, out)
                continue
            out.append("\\Z" if following == "z" else pattern[i : i + 2])
            i += 2
        elif char == "[":
            i = _class(pattern, i, out)
        else:
            bad = next((g for g in PYTHON_ONLY_GROUPS if pattern.startswith(g, i)), None)
            if bad:
                raise ValueError(f"regex {pattern!r} uses {bad}...) which RE2 lacks; {RE2_EXPECTED}")
            out.append(char)
            i += 1
    return "".join(out)


def _octal(pattern: str, start: int, out: list[str]) -> int:
    """RE2 reads \\12 as octal where Python sees a backreference; a lone \\1 is a backreference RE2 lacks."""
    digits = pattern[start + 1 : start + 4]
    count = next((n for n, d in enumerate(digits) if d not in "01234567"), len(digits))
    if count < 2:
        raise ValueError(f"regex {pattern!r} has a backreference {pattern[start : start + 2]}; {RE2_EXPECTED}")
    out.append("\\" + digits[:count].rjust(3, "0"))
    return start + 1 + count


def _class(pattern: str, start: int, out: list[str]) -> int:
    """Copy the character class at `start` into `out`, expanding POSIX classes; the index after it."""
    i = start + 1
    out.append("[")
    if pattern.startswith("^", i):
        out.append("^")
        i += 1
    if pattern.startswith("]", i):  # a leading ] is a literal, in RE2 as in POSIX
        out.append("\\]")
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        if pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
        elif pattern.startswith("[:", i) and ":]" in pattern[i + 2 :]:
            end = pattern.index(":]", i + 2)
            name = pattern[i + 2 : end]
            if name not in POSIX_CLASSES:
                raise ValueError(
                    f"regex {pattern!r} has an unknown class [:{name}:]; "
                    f"expected one of {', '.join(f'[:{n}:]' for n in POSIX_CLASSES)}"
                )
            out.append(POSIX_CLASSES[name])
            i = end + 2
        else:
            out.append("\\[" if pattern[i] == "[" else pattern[i])  # a [ inside a class is a literal in RE2
            i += 1
    if i < len(pattern):
        out.append("]")
        i += 1
    return i
