"""A stand-in OpenID Connect provider on 127.0.0.1: discovery, JWKS, an authorization endpoint that signs
the person in at once, and a token endpoint that checks the client, the code and the PKCE verifier and answers
an RS256-signed ID token. Tests can make it lie: another issuer, audience or nonce, a foreign signing key, an
expired token, other groups."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.support.loopback import serve

CLIENT_ID = "tocsin-dashboard"
CLIENT_SECRET = "stand-in-client-secret"


@dataclass
class Pending:
    """An authorization waiting for its code to be exchanged."""

    redirect_uri: str
    nonce: str
    challenge: str


@dataclass
class OidcProvider:
    """The provider; `claims` are the signed-in person's, `lies` overrides what goes into the next ID tokens."""

    claims: dict[str, Any] = field(default_factory=lambda: {
        "sub": "u-1001", "name": "Alice Example", "email": "alice@example.com", "groups": ["staff", "ops"]})
    lies: dict[str, Any] = field(default_factory=dict)
    foreign_key: bool = False
    port: int = 0
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"}))
    pending: dict[str, Pending] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # why token requests were refused
    _runner: web.AppRunner | None = None

    @property
    def issuer(self) -> str:
        """OIDC_ISSUER for Tocsin."""
        return f"http://127.0.0.1:{self.port}/realms/ops"

    async def start(self) -> OidcProvider:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_get("/realms/ops/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/realms/ops/jwks", self._jwks)
        app.router.add_get("/realms/ops/authorize", self._authorize)
        app.router.add_post("/realms/ops/token", self._token)
        self._runner, self.port = await serve(app)
        return self

    async def stop(self) -> None:
        """Stop listening (the provider is then down)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _discovery(self, request: web.Request) -> web.Response:
        return web.json_response({
            "issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })

    async def _jwks(self, request: web.Request) -> web.Response:
        return web.json_response({"keys": [self.key.as_dict(private=False)]})

    async def _authorize(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code" or \
                q.get("code_challenge_method") != "S256" or not q.get("code_challenge") or not q.get("nonce"):
            return web.json_response({"error": "invalid_request"}, status=400)
        code = secrets.token_urlsafe(16)
        self.pending[code] = Pending(q["redirect_uri"], q["nonce"], q["code_challenge"])
        raise web.HTTPFound(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', '')})}")

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        pending = self.pending.pop(str(form.get("code")), None)
        why = None
        if request.headers.get("Authorization") != expected:
            why = "invalid_client"
        elif pending is None or form.get("redirect_uri") != pending.redirect_uri:
            why = "invalid_grant"
        elif _s256(str(form.get("code_verifier", ""))) != pending.challenge:
            why = "invalid_grant: PKCE verifier"
        if why is not None or pending is None:
            self.refused.append(why or "invalid_grant")
            return web.json_response({"error": (why or "invalid_grant").split(":")[0]}, status=400)
        now = int(time.time())
        claims = {**self.claims, "iss": self.issuer, "aud": CLIENT_ID, "nonce": pending.nonce, "iat": now,
                  "exp": now + 300, **self.lies}
        key = RSAKey.generate_key(2048, parameters={"kid": "k1"}) if self.foreign_key else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
        return web.json_response({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                                  "id_token": id_token, "expires_in": 300})


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
