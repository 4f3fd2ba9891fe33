"""The read-only web dashboard (CONTRACT section 3: GET / and GET /incidents/{id}), rendered on the server.

Pages carry their data in the HTML; scripts only add the charts and live updates. Nothing here changes
an incident: the only forms are the filters (GET), sign-in and sign-out.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlencode

from quart import Blueprint, Response, redirect, render_template, request
from quart.blueprints import BlueprintSetupState

from store.errors import ApiError, StoreError, http_error
from web.api.auth import ANONYMOUS
from web.dashboard import live, views
from web.dashboard.format import FILTERS
from web.dashboard.oidc import OidcClient
from web.dashboard.session import SignInRequired, Viewer, clear_session
from web.dashboard.settings import DashboardSettings

STATIC = Path(__file__).parent / "static"
STATIC_PATH = "/dashboard/static"
STREAM_PATH = "/dashboard/events"
# Only this site's own files: no inline script or style, no other origin, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _asset_versions() -> dict[str, str]:
    return {
        str(path.relative_to(STATIC)): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in STATIC.rglob("*") if path.is_file()
    }


def create_blueprint(settings: DashboardSettings) -> Blueprint:
    """The dashboard's pages, static files and live stream; its hub ends the streams when the server stops."""
    bp = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static",
                   static_url_path=STATIC_PATH)
    hub = live.Hub(settings.dsn)
    versions = _asset_versions()

    def asset(name: str) -> str:
        return f"{STATIC_PATH}/{name}?{urlencode({'v': versions[name]})}"

    def on_register(state: BlueprintSetupState) -> None:
        app = state.app
        app.jinja_env.filters.update(FILTERS)
        app.jinja_env.globals["asset"] = asset
        app.extensions.setdefault("tocsin_on_stop", []).append(hub.close)

    bp.record_once(on_register)
    oidc = OidcClient(settings.oidc, settings.public_url) if settings.oidc is not None else None
    views.register(bp, settings, hub, oidc)

    @bp.after_app_serving
    async def stop_hub() -> None:
        await hub.stop()

    @bp.after_request
    async def security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.path.startswith(STATIC_PATH):
            response.headers["Cache-Control"] = "no-store"  # incident data: never kept by shared caches
        elif request.args.get("v") and response.status_code == 200:
            # Asset URLs carry their content's hash (?v=…): a changed file gets a new URL, so keep them a year.
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response

    @bp.errorhandler(SignInRequired)
    async def sign_in(error: SignInRequired) -> Response:
        if request.path == STREAM_PATH:
            return Response('{"error": {"code": "unauthorized", "message": "sign in first", "details": []}}',
                            401, content_type="application/json")
        params = {"next": request.full_path.rstrip("?")}
        if error.reason:
            params["reason"] = error.reason
        response = redirect(f"/login?{urlencode(params)}", 303)
        if error.reason == "ended":
            clear_session(response)
        return response

    @bp.errorhandler(ApiError)
    async def error_page(error: ApiError) -> Response:
        body = await render_template("dashboard/error.html", error=error, viewer=Viewer(ANONYMOUS, False),
                                     anonymous_read=settings.anonymous_read)
        response = Response(body, error.status, content_type="text/html; charset=utf-8")
        response.headers.update(error.headers)
        return response

    @bp.errorhandler(StoreError)
    async def store_error_page(error: StoreError) -> Response:
        return await error_page(http_error(error))

    return bp
