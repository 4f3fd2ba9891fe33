"""GET and PUT /api/v1/incidents/{id}/postmortem: a resolved incident's review, with an ETag so that a
concurrent edit is refused (412), not lost; GET as Markdown exports it."""

from __future__ import annotations

import json
from typing import Any

from quart import Response, current_app, request

from store import postmortems
from store.domain.incident import ActionSource
from store.domain.postmortem import STATUSES, action_items, etag, version_of
from store.errors import ApiError
from store.postmortems import Review
from store.runtime import Runtime
from web.api import auth
from web.api import examples as ex
from web.api.registry import Call, Endpoint, Registry
from web.api.schema import Body, Field, Query
from web.api.shapes import rfc3339

READ_QUERY = Query((Field("format", "string", "markdown for the text alone (as `Accept: text/markdown`)",
                          enum=("json", "markdown")),))
SAVE = Body(
    "SavePostmortem",
    (
        Field("status", "string", "draft, or published once every action item has an @owner", required=True,
              enum=STATUSES),
        Field("markdown", "string", "the review as Markdown", required=True, min_length=1, max_length=200_000,
              pattern=r"\S"),
    ),
)


def review_json(review: Review, public_url: str) -> dict[str, Any]:
    """A review with its version, its action items and where the dashboard shows it."""
    incident_id = review.incident.id
    return {
        "incident_id": incident_id,
        "status": review.status,
        "markdown": review.markdown,
        "version": review.version,
        "saved": review.version > 0,
        "updated_by": review.updated_by,
        "updated_at": rfc3339(review.updated_at),
        "published_at": rfc3339(review.published_at),
        "action_items": [{"text": a.text, "owner": a.owner, "done": a.done} for a in action_items(review.markdown)],
        "url": f"{public_url.rstrip('/')}/incidents/{incident_id}/postmortem",
    }


def markdown_response(review: Review) -> Response:
    """The review as a Markdown file (the export)."""
    return Response(review.markdown, 200, content_type="text/markdown; charset=utf-8", headers={
        "ETag": etag(review.incident.id, review.version), "Vary": "Accept",
        "Content-Disposition": f'attachment; filename="postmortem-{review.incident.id}.md"'})


def _json_response(body: dict[str, Any], status: int, review: Review) -> Response:
    return Response(json.dumps(body), status, content_type="application/json",
                    headers={"ETag": etag(review.incident.id, review.version), "Vary": "Accept"})


def edited_version(incident_id: int) -> int | None:
    """The version If-Match names (None without the header); 412 when it names no version of this review."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    version = version_of(header, incident_id)
    if version is None:
        raise ApiError(412, "precondition_failed", f"If-Match {header[:80]!r} is not an ETag of this post-mortem; "
                       "GET it again", [{"field": "If-Match", "message": "unknown ETag"}])
    return version


def register(api: Registry, public_url: str, anonymous_read: bool) -> None:
    """Add the post-mortem endpoints to the registry."""

    def runtime() -> Runtime:
        return current_app.extensions["tocsin"]

    @api.route(Endpoint("GET", "/api/v1/incidents/{id}/postmortem", "getPostmortem",
                        "A resolved incident's review (a draft filled with its facts until one is saved), with its "
                        "ETag; as Markdown with `Accept: text/markdown` or format=markdown (409 while it is open)",
                        auth.READ, {"$ref": "#/components/schemas/Postmortem"}, query=READ_QUERY,
                        errors=(404, 409), example=ex.POSTMORTEM,
                        other_media={"text/markdown": ex.POSTMORTEM["markdown"]}), anonymous_read)
    async def get_postmortem(call: Call) -> Response:
        r = runtime()
        review = await postmortems.read(r.db, r.config, call.path["id"], r.clock())
        fmt = call.query["format"]
        accept = request.accept_mimetypes.best_match(["application/json", "text/markdown"])
        if fmt == "markdown" or (fmt is None and accept == "text/markdown"):
            return markdown_response(review)
        return _json_response(review_json(review, public_url), 200, review)

    @api.route(Endpoint("PUT", "/api/v1/incidents/{id}/postmortem", "savePostmortem",
                        "Save the review; If-Match must carry the ETag of the version edited (412 when someone saved "
                        "since, 428 without it); 201 for the first save", auth.WRITE,
                        {"$ref": "#/components/schemas/Postmortem"}, body=SAVE,
                        errors=(400, 404, 409, 412, 413, 415, 428), example=ex.POSTMORTEM,
                        request_example={"status": "draft", "markdown": ex.POSTMORTEM["markdown"]}), anonymous_read)
    async def save_postmortem(call: Call) -> Response:
        incident_id = call.path["id"]
        version = edited_version(incident_id)
        review = await postmortems.save(runtime().db, incident_id, version, call.body["status"],
                                        call.body["markdown"], call.principal.actor, ActionSource.API)
        return _json_response(review_json(review, public_url), 201 if review.version == 1 else 200, review)
