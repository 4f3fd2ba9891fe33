"""OpenID Connect for the dashboard: discovery, the authorization code flow with PKCE, the ID token checked.

Authlib makes the flow's secrets and the PKCE challenge; joserfc (Authlib's JOSE library) checks the ID
token: its signature against the provider's JWKS (fetched again once for an unknown key id), issuer,
audience (and `azp` when there are several), nonce, expiry and issue time. The provider's discovery
document is cached; when the provider cannot be reached that is remembered for a short while, so the
sign-in page says so at once and token sign-in keeps working.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from store.domain.tokens import ROLE_RANK, Role
from web.settings import OidcSettings

log = logging.getLogger(__name__)
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
METADATA_TTL = 3600.0
DOWN_TTL = 30.0  # a provider that did not answer is asked again after this
LEEWAY = 60  # seconds of clock skew allowed on exp, iat and nbf


class ProviderDown(Exception):
    """The provider cannot be reached or answered nonsense; the message is safe to show."""


class SignInRefused(Exception):
    """The provider's answer does not sign this person in; the message says why, safe to show."""


@dataclass(frozen=True, slots=True)
class Flow:
    """One sign-in in progress: kept in a signed cookie between the redirect and the callback."""

    state: str
    nonce: str
    verifier: str
    next: str

    @classmethod
    def start(cls, next_path: str) -> Flow:
        """Fresh random state, nonce and PKCE verifier."""
        return cls(generate_token(32), generate_token(32), generate_token(64), next_path)


@dataclass(frozen=True, slots=True)
class Person:
    """Who signed in: the provider's subject, a name to show, and the role their groups give."""

    subject: str
    name: str
    role: Role


class OidcClient:
    """Talks to one provider for the dashboard."""

    def __init__(self, settings: OidcSettings, public_url: str, timeout: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.redirect_uri = settings.redirect_uri(public_url)
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.clock = clock
        self._metadata: tuple[float, dict[str, Any]] | None = None
        self._down: tuple[float, str] | None = None
        self._keys: KeySet | None = None

    async def _get_json(self, url: str) -> dict[str, Any]:
        async with aiohttp.ClientSession(timeout=self.timeout) as session, session.get(url) as response:
            if response.status != 200:
                raise ProviderDown(f"{url} answered HTTP {response.status}")
            data = await response.json(content_type=None)
        if not isinstance(data, dict):
            raise ProviderDown(f"{url} did not answer a JSON object")
        return data

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (cached); ProviderDown when it cannot be had."""
        now = self.clock()
        if self._metadata is not None and now - self._metadata[0] < METADATA_TTL:
            return self._metadata[1]
        if self._down is not None and now - self._down[0] < DOWN_TTL:
            raise ProviderDown(self._down[1])
        url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            document = await self._get_json(url)
            if document.get("issuer") != self.settings.issuer:
                raise ProviderDown(f"its discovery document names issuer {str(document.get('issuer'))[:100]!r}, "
                                   "not OIDC_ISSUER")
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(document.get(key), str):
                    raise ProviderDown(f"its discovery document has no {key}")
        except (aiohttp.ClientError, TimeoutError, ValueError, ProviderDown) as exc:
            reason = str(exc) if isinstance(exc, ProviderDown) else f"{type(exc).__name__} reaching {url}"
            self._down = (now, reason)
            log.warning("single sign-on: the identity provider is unavailable: %s", reason)
            raise ProviderDown(reason) from None
        self._metadata, self._down = (now, document), None
        return document

    async def authorization_url(self, flow: Flow) -> str:
        """Where to send the browser: the provider's authorization endpoint with PKCE, state and nonce."""
        endpoint = (await self.metadata())["authorization_endpoint"]
        query = {
            "response_type": "code", "client_id": self.settings.client_id, "redirect_uri": self.redirect_uri,
            "scope": "openid profile email", "state": flow.state, "nonce": flow.nonce,
            "code_challenge": create_s256_code_challenge(flow.verifier), "code_challenge_method": "S256",
        }
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    async def sign_in(self, code: str, flow: Flow) -> Person:
        """Exchange the code for tokens, check the ID token, and map the person's groups to a role."""
        claims = self.check_id_token(await self._exchange(code, flow), flow.nonce, await self._key_set())
        return Person(str(claims["sub"]), _display_name(claims), self.role_of(claims))

    async def _exchange(self, code: str, flow: Flow) -> str:
        endpoint = (await self.metadata())["token_endpoint"]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                "client_id": self.settings.client_id, "code_verifier": flow.verifier}
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session, \
                    session.post(endpoint, data=form, headers=self._client_auth()) as response:
                body = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ProviderDown(f"{type(exc).__name__} at the token endpoint") from None
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
            error = body.get("error") if isinstance(body, dict) else None
            raise SignInRefused(f"the provider did not give an ID token (HTTP {status}"
                                f"{', ' + str(error)[:80] if error else ''})")
        return body["id_token"]

    def _client_auth(self) -> dict[str, str]:
        """client_secret_basic (RFC 6749 2.3.1: each part form-encoded), or nothing for a public client."""
        if self.settings.client_secret is None:
            return {}
        pair = f"{quote(self.settings.client_id, safe='')}:{quote(self.settings.client_secret, safe='')}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

    async def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            try:
                self._keys = KeySet.import_key_set(await self._get_json((await self.metadata())["jwks_uri"]))
            except (aiohttp.ClientError, TimeoutError, ValueError, JoseError) as exc:
                raise ProviderDown(f"its signing keys (JWKS) cannot be read ({type(exc).__name__})") from None
        return self._keys

    def check_id_token(self, id_token: str, nonce: str, keys: KeySet) -> dict[str, Any]:
        """The ID token's claims, once its signature and claims are right; SignInRefused otherwise."""
        try:
            token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
        except JoseError as exc:
            raise SignInRefused(f"the ID token's signature does not verify ({exc.error})") from None
        except ValueError:
            raise SignInRefused("the ID token is malformed") from None
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY, now=lambda: int(self.clock()),
            iss={"essential": True, "value": self.settings.issuer},
            aud={"essential": True, "value": self.settings.client_id},
            nonce={"essential": True, "value": nonce},
            sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise SignInRefused(f"the ID token is refused: {exc.description or exc.error}") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.settings.client_id:
            raise SignInRefused("the ID token is refused: several audiences and azp is not this client")
        return claims

    def role_of(self, claims: dict[str, Any]) -> Role:
        """The highest role that OIDC_ROLES gives the person's groups; SignInRefused when none does."""
        value = claims.get(self.settings.role_claim)
        groups = {value} if isinstance(value, str) else {g for g in value if isinstance(g, str)} \
            if isinstance(value, list) else set()
        roles = [Role(role) for group, role in self.settings.roles if group in groups]
        if not roles:
            raise SignInRefused(f"your account is in no group that OIDC_ROLES maps to a role (claim "
                                f"{self.settings.role_claim!r}); ask an admin")
        return max(roles, key=ROLE_RANK.__getitem__)


def _display_name(claims: dict[str, Any]) -> str:
    for key in ("name", "preferred_username", "email", "sub"):
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:100]
    return "unknown"
