"""Post-mortem Markdown rendered for the dashboard: hostile input never becomes script, handlers or odd links."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from web.dashboard.markdown import TAGS, render

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<svg onload=alert(1)>",
    "<iframe src=https://evil.example></iframe>",
    "<style>body{display:none}</style>",
    "[x](https://ok.example \"title\" onmouseover=alert(1))",
    "<details open ontoggle=alert(1)>",
    "`<script>`",
    "<!-- <script>alert(1)</script> -->",
    "| a |\n|---|\n| <script>alert(1)</script> |",
    "<<script>script>alert(1)<</script>/script>",
    "[x](&#106;avascript:alert(1))",
    "<form action=https://evil.example><input name=token></form>",
]


class Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str, str]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]


def assert_inert(html: str) -> None:
    found = Elements(html)
    assert found.tags <= TAGS, html
    for _tag, name, value in found.attributes:
        assert not name.startswith("on"), html
        assert name in {"href", "title", "rel", "start", "style"}, html
        if name == "href":
            assert re.match(r"(https?:|mailto:)", value, re.IGNORECASE), html
        if name == "style":
            assert re.fullmatch(r"text-align:\s*\w+;?", value), html


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_renders_inert(text: str) -> None:
    html = render(text)
    assert_inert(html)
    assert "<script" not in html.lower()


def test_the_review_keeps_its_shape() -> None:
    html = render("# Title\n\n| when | who |\n|---|---|\n| 19:03 | alice |\n\n- [ ] Fix it @bob\n\n"
                  "[runbook](https://wiki.example/db) and `code`")
    assert "<h1>Title</h1>" in html
    assert "<table>" in html and "<td>alice</td>" in html
    assert "<li>[ ] Fix it @bob</li>" in html
    assert '<a href="https://wiki.example/db" rel="noopener noreferrer nofollow">runbook</a>' in html
    assert "<code>code</code>" in html


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>\"'=/:[]()!`&#;ajvscriptonerloadimgsvhf \n\t-|*")), max_size=120))
def test_any_text_renders_without_a_dangerous_tag_or_handler(text: str) -> None:
    assert_inert(render(text))
