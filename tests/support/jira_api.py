"""A stand-in of Jira's REST API (version 2) on 127.0.0.1: Cloud (Basic email:API token, search at /search/jql,
the old /search answering 410) or Data Center (Bearer personal access token, /search only).

It keeps issues with a small workflow (To Do -> In Progress -> Done, Done -> Reopen -> To Do), refuses what Jira
refuses (wrong credentials 401, an unknown project or issue type, a summary over 255 characters or on several
lines, a missing issue 404: Jira's error body), records every call, and can answer 429 (Retry-After) or 500 for
the next N calls, or make an issue and lose the answer.
"""

from __future__ import annotations

import base64
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.loopback import serve

EMAIL = "tocsin@example.com"
API_TOKEN = "ATATT3xFfGF0-jira-api-token"
PAT = "NjY0MzM0NjU5OTQzOjlx-personal-access-token"
PROJECT = "OPS"
ISSUE_TYPES = {"Incident": "10002", "Bug": "10004"}
STATUSES = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}
TRANSITIONS = {  # status -> [(id, name, to)]
    "To Do": [("11", "Start Progress", "In Progress"), ("31", "Done", "Done")],
    "In Progress": [("21", "Stop Progress", "To Do"), ("31", "Done", "Done")],
    "Done": [("41", "Reopen", "To Do")],
}
LABEL_QUERY = re.compile(r'project = "(?P<project>[A-Z0-9_]+)" AND labels = "(?P<label>[^"]+)" ORDER BY created ASC')


@dataclass
class Call:
    """One request the stand-in received."""

    method: str
    path: str
    body: Any
    status: int = 200


@dataclass
class JiraApi:
    """The stand-in; `url` is the value for JIRA_URL."""

    cloud: bool = True
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> {"fields", "status", "comments"}
    calls: list[Call] = field(default_factory=list)
    faults: list[tuple[int, float]] = field(default_factory=list)  # (status, Retry-After seconds)
    lost_creates: int = 0  # the next N creates make the issue but answer 502 (the answer lost on its way back)
    port: int = 0
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """JIRA_URL for Tocsin."""
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The settings that reach this stand-in (Cloud or Data Center credentials)."""
        if self.cloud:
            return {"JIRA_URL": self.url, "JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": API_TOKEN}
        return {"JIRA_URL": self.url, "JIRA_PAT": PAT}

    async def start(self) -> JiraApi:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_route("*", "/rest/api/2/{path:.*}", self._handle)
        self._runner, self.port = await serve(app)
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, count: int, status: int, retry_after: float = 1.0) -> None:
        """Answer the next `count` calls with this status (429 with Retry-After)."""
        self.faults += [(status, retry_after)] * count

    def create(self, summary: str, labels: list[str]) -> str:
        """An issue made by someone else (or by a Tocsin that died before recording it)."""
        return self._new({"project": {"key": PROJECT}, "issuetype": {"name": "Incident"}, "summary": summary,
                          "labels": labels})

    def _new(self, fields: dict[str, Any]) -> str:
        key = f"{fields['project']['key']}-{next(self._numbers)}"
        self.issues[key] = {"fields": fields, "status": "To Do", "comments": []}
        return key

    def _authorized(self, header: str) -> bool:
        if self.cloud:
            return header == "Basic " + base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
        return header == f"Bearer {PAT}"

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        raw = await request.read()
        try:
            body = await request.json() if raw else None
        except ValueError:
            body = None
        call = Call(request.method, path, body)
        self.calls.append(call)
        response = self._answer(request, path, body)
        call.status = response.status
        return response

    def _answer(self, request: web.Request, path: str, body: Any) -> web.Response:
        if not self._authorized(request.headers.get("Authorization", "")):
            return _error(401, ["You are not authenticated. Authentication required to perform this operation."])
        if self.faults:
            status, wait = self.faults.pop(0)
            headers = {"Retry-After": str(wait)} if status == 429 else {}
            return _error(status, ["Rate limit exceeded." if status == 429 else "Internal server error"],
                          headers=headers)
        parts = path.split("/")
        if path == "issue" and request.method == "POST":
            return self._create(body)
        if path in ("search", "search/jql") and request.method == "GET":
            return self._search(path, request.query.get("jql", ""))
        if parts[0] != "issue" or len(parts) < 2 or parts[1] not in self.issues:
            return _error(404, ["Issue does not exist or you do not have permission to see it."])
        issue = self.issues[parts[1]]
        rest = parts[2:]
        if rest == [] and request.method == "GET":
            status = issue["status"]
            return web.json_response({"key": parts[1], "fields": {"status": {
                "name": status, "statusCategory": {"key": STATUSES[status]}}}})
        if rest == ["comment"] and request.method == "POST":
            issue["comments"].append(body["body"])
            return web.json_response({"id": str(len(issue["comments"])), "body": body["body"]}, status=201)
        if rest == ["transitions"] and request.method == "GET":
            return web.json_response({"transitions": [{"id": i, "name": n, "to": {"name": t}}
                                                      for i, n, t in TRANSITIONS[issue["status"]]]})
        if rest == ["transitions"] and request.method == "POST":
            wanted = (body or {}).get("transition", {}).get("id")
            target = next((t for i, _, t in TRANSITIONS[issue["status"]] if i == wanted), None)
            if target is None:
                return _error(400, [f"Transition id '{wanted}' is not valid for this issue."])
            issue["status"] = target
            return web.Response(status=204)
        return _error(404, ["null for uri"])

    def _create(self, body: Any) -> web.Response:
        fields = (body or {}).get("fields") or {}
        errors: dict[str, str] = {}
        if (fields.get("project") or {}).get("key") != PROJECT:
            errors["project"] = "valid project is required"
        issue_type = fields.get("issuetype") or {}
        if issue_type.get("name") not in ISSUE_TYPES and issue_type.get("id") not in ISSUE_TYPES.values():
            errors["issuetype"] = "valid issue type is required"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif len(summary) > 255 or "\n" in summary:
            errors["summary"] = "Summary must be less than 255 characters and on one line."
        if any(" " in str(label) for label in fields.get("labels", [])):
            errors["labels"] = "The label must not contain spaces."
        if errors:
            return _error(400, [], errors)
        key = self._new(fields)
        if self.lost_creates:
            self.lost_creates -= 1
            return _error(502, ["Bad gateway"])
        return web.json_response({"id": key.split("-")[1], "key": key, "self": f"{self.url}/rest/api/2/issue/{key}"},
                                 status=201)

    def _search(self, path: str, jql: str) -> web.Response:
        if self.cloud and path == "search":
            return _error(410, ["The requested API has been removed. Please migrate to the /rest/api/3/search/jql "
                                "API."])
        if not self.cloud and path == "search/jql":
            return _error(404, ["null for uri"])
        match = LABEL_QUERY.fullmatch(jql)
        if match is None:
            return _error(400, [f"Error in the JQL Query: {jql!r}"])
        keys = [k for k, i in self.issues.items() if i["fields"]["project"]["key"] == match["project"]
                and match["label"] in i["fields"].get("labels", [])]
        return web.json_response({"issues": [{"id": k.split("-")[1], "key": k} for k in keys[:1]]})


def _error(status: int, messages: list[str], errors: dict[str, str] | None = None,
           headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"errorMessages": messages, "errors": errors or {}}, status=status, headers=headers)
