"""Markdown to HTML that no script can run in: markdown-it-py (CommonMark, raw HTML off, tables), then the
nh3 (Ammonia) sanitizer keeps only a small list of tags and http(s)/mailto links. Two layers, so a gap in
one is not a script in the page; the page's Content-Security-Policy (no inline script) is a third."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}
STYLES = {"text-align"}
SCHEMES = {"http", "https", "mailto"}
_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


def render(markdown: str) -> str:
    """Sanitized HTML of the Markdown text (images are dropped: the page loads nothing from elsewhere)."""
    html = _PARSER.render(markdown)
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        filter_style_properties=STYLES,
        url_schemes=SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
