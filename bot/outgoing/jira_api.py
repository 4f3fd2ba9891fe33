"""A small typed client of Jira's REST API (version 2, served by Jira Cloud and Jira Data Center alike).

Why not a library: the well-kept Python clients (`jira`, `atlassian-python-api`) are synchronous (requests),
so every call would need a thread beside the asyncio loop, and the outbox needs each answer's status and
Retry-After, which they turn into exceptions of their own. Tocsin makes six calls; this wrapper makes them on
aiohttp and says what Jira answered. Cloud signs in with the account's email and an API token (Basic), Data
Center with a personal access token (Bearer). Searching differs: Cloud removed /rest/api/2/search for
/rest/api/2/search/jql (Atlassian's CHANGE-2046); Data Center has only the former.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.delivery import SendResult, ServiceError
from bot.outgoing.http import Answer, Http, failed
from bot.outgoing.settings import JiraSettings


@dataclass(frozen=True, slots=True)
class Transition:
    """A transition the issue can take now: its id, name and the status it leads to."""

    id: str
    name: str
    to: str


class JiraError(ServiceError):
    """Jira refused a call; `answer` is what it said."""

    def __init__(self, what: str, answer: Answer) -> None:
        self.detail = _messages(answer.body)
        super().__init__(f"{what}: Jira answered HTTP {answer.status}: {self.detail}", answer.status)
        self.what = what
        self.answer = answer

    def result(self) -> SendResult:
        """The failed send: 400 and 404 cannot succeed by sending the same again (a field Jira refuses, an issue
        deleted), so they give up at once; others wait (429's Retry-After) and retry."""
        return failed("Jira", self.answer, self.what, self.answer.status in (400, 404), self.detail)


def _messages(body: Any) -> str:
    """Jira's error body ({"errorMessages": [...], "errors": {field: message}}) in one line."""
    if not isinstance(body, dict):
        return str(body or "no message")[:300]
    parts = [str(m) for m in body.get("errorMessages") or []]
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts += [f"{field}: {message}" for field, message in errors.items()]
    return "; ".join(parts)[:300] or "no message"


class JiraApi:
    """The calls Tocsin makes: create, find by label, comment, transitions, status."""

    def __init__(self, settings: JiraSettings) -> None:
        self.settings = settings
        self.http = Http("Jira")

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.http.close()

    async def _call(self, what: str, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": self.settings.authorization(), "Accept": "application/json"}
        answer = await self.http.request(method, f"{self.settings.url}/rest/api/2/{path}", json_body=body,
                                         headers=headers)
        if not answer.ok:
            raise JiraError(what, answer)
        return answer.body

    async def create_issue(self, fields: dict[str, Any]) -> str:
        """Create an issue; its key."""
        created = await self._call("creating the issue", "POST", "issue", {"fields": fields})
        return str(created["key"])

    async def find_by_label(self, project: str, label: str) -> str | None:
        """The oldest issue of the project with this label, if any."""
        jql = quote(f'project = "{project}" AND labels = "{label}" ORDER BY created ASC')
        search = "search/jql" if self.settings.cloud else "search"
        found = await self._call("searching for the issue", "GET", f"{search}?jql={jql}&fields=summary&maxResults=1")
        issues = found.get("issues") if isinstance(found, dict) else None
        if not issues:
            return None
        issue = issues[0]
        if issue.get("key"):
            return str(issue["key"])
        return str((await self._call("reading the issue", "GET", f"issue/{issue['id']}?fields=summary"))["key"])

    async def add_comment(self, key: str, text: str) -> None:
        """Comment on the issue."""
        await self._call("commenting", "POST", f"issue/{quote(key)}/comment", {"body": text})

    async def transitions(self, key: str) -> list[Transition]:
        """The transitions the issue can take now."""
        found = await self._call("reading the transitions", "GET", f"issue/{quote(key)}/transitions")
        return [Transition(str(t["id"]), str(t.get("name", "")), str((t.get("to") or {}).get("name", "")))
                for t in (found or {}).get("transitions", [])]

    async def transition(self, key: str, transition_id: str) -> None:
        """Move the issue along a transition."""
        await self._call("moving the issue", "POST", f"issue/{quote(key)}/transitions",
                         {"transition": {"id": transition_id}})

    async def status(self, key: str) -> tuple[str, str]:
        """The issue's status and its category key (new, indeterminate or done)."""
        found = await self._call("reading the issue", "GET", f"issue/{quote(key)}?fields=status")
        status = found["fields"]["status"]
        return str(status.get("name", "")), str((status.get("statusCategory") or {}).get("key", ""))
