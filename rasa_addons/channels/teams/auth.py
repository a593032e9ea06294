"""Incoming: is this request from the Bot Framework, for this bot? (JWT checked against the JWKS.)

Rasa's own botframework channel fetches Microsoft's signing keys over the network when Rasa starts
(so Rasa cannot start offline or while login.botframework.com is unreachable) and checks a token's
signature, audience and expiry but not its issuer or its `serviceurl` claim. Here:

- nothing is fetched at start; the OpenID configuration and its signing keys are fetched (without
  blocking the event loop, with timeouts) on the first activity, refreshed daily and when a token
  names an unknown key (Microsoft rotates keys), at most every five minutes;
- a token must be signed by one of those keys with an allowed RSA algorithm (never the one the
  token names for itself), for `aud` = the app id, by the configured issuer
  (`https://api.botframework.com`), not expired (five minutes' clock skew), with a `serviceurl`
  claim equal to the activity's `serviceUrl`, and by a key endorsed for the activity's `channelId`
  when the key lists endorsements; otherwise `AuthError` (401). No keys at all: `KeysUnavailable`
  (503). With a tenant id set, activities from other tenants are refused (403).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

import aiohttp
import jwt
from jwt import PyJWTError
from jwt.algorithms import RSAAlgorithm

from rasa_addons.channels.teams.activity import same_service_url, tenant_of
from rasa_addons.channels.teams.connector import LoopSession

logger = logging.getLogger(__name__)

DEFAULT_OPENID_CONFIG_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512")
CLOCK_SKEW_SECONDS = 300
KEY_MAX_AGE_SECONDS = 24 * 3600
KEY_REFRESH_MIN_INTERVAL_SECONDS = 300
KEY_RETRY_WHEN_NONE_SECONDS = 30

BEARER = re.compile(r"^Bearer\s+(\S+)\s*$", re.IGNORECASE)

SigningKey = Tuple[Any, Optional[List[str]]]  # the public key and its endorsements (None: not listed)


class AuthError(Exception):
    """The request is not from the Bot Framework for this bot (HTTP 401)."""


class KeysUnavailable(Exception):
    """The signing keys could not be fetched, so no token can be checked (HTTP 503)."""


class BotFrameworkAuth:
    """Checks the bearer token of incoming activities against the Bot Framework's published keys."""

    def __init__(self, app_id: str, openid_config_url: str, http: LoopSession, issuer: str = "") -> None:
        self.app_id = app_id
        self.openid_config_url = openid_config_url or DEFAULT_OPENID_CONFIG_URL
        self.configured_issuer = issuer
        self.http = http
        self._keys: Dict[str, SigningKey] = {}
        self._issuer = issuer or BOT_FRAMEWORK_ISSUER
        self._algorithms: List[str] = ["RS256"]
        self._keys_fetched_at = float("-inf")
        self._last_key_attempt = float("-inf")

    async def _refresh_keys(self) -> None:
        self._last_key_attempt = time.monotonic()
        session = self.http.session()
        async with session.get(self.openid_config_url) as reply:
            reply.raise_for_status()
            config = await reply.json(content_type=None)
        async with session.get(config["jwks_uri"]) as reply:
            reply.raise_for_status()
            document = await reply.json(content_type=None)
        keys: Dict[str, SigningKey] = {}
        for key in document.get("keys", []):
            if not isinstance(key, dict) or key.get("kty") != "RSA" or not key.get("kid"):
                continue
            try:
                public_key = RSAAlgorithm.from_jwk(json.dumps(key))
            except (PyJWTError, ValueError, TypeError, KeyError):
                continue
            endorsements = key.get("endorsements")
            keys[str(key["kid"])] = (public_key, list(endorsements) if isinstance(endorsements, list) else None)
        if not keys:
            raise ValueError("the JWKS document has no usable RSA keys")
        self._keys = keys
        self._issuer = self.configured_issuer or str(config.get("issuer") or BOT_FRAMEWORK_ISSUER)
        supported = config.get("id_token_signing_alg_values_supported") or ["RS256"]
        self._algorithms = [a for a in ALLOWED_ALGORITHMS if a in supported] or ["RS256"]
        self._keys_fetched_at = time.monotonic()
        logger.info("Teams: loaded %d Bot Framework signing keys.", len(keys))

    async def _signing_key(self, kid: str) -> SigningKey:
        async with self.http.lock("keys"):
            now = time.monotonic()
            since_attempt = now - self._last_key_attempt
            if not self._keys:
                due = since_attempt > KEY_RETRY_WHEN_NONE_SECONDS
            else:
                stale = now - self._keys_fetched_at > KEY_MAX_AGE_SECONDS
                due = (stale or kid not in self._keys) and since_attempt > KEY_REFRESH_MIN_INTERVAL_SECONDS
            if due:
                try:
                    await self._refresh_keys()
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, KeyError, TypeError) as error:
                    logger.warning(
                        "Teams: could not fetch the signing keys from %s (%s).",
                        self.openid_config_url,
                        type(error).__name__,
                    )
        if not self._keys:
            raise KeysUnavailable()
        if kid not in self._keys:
            raise AuthError("unknown signing key")
        return self._keys[kid]

    async def verify_token(self, auth_header: Optional[str]) -> Tuple[Dict[str, Any], Optional[List[str]]]:
        """Check signature, algorithm, audience, issuer and expiry; return the claims and endorsements."""
        match = BEARER.match(auth_header or "")
        if not match:
            raise AuthError("no Bearer token")
        token = match.group(1)
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            raise AuthError("malformed token") from None
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("alg") not in ALLOWED_ALGORITHMS:
            raise AuthError("token header not acceptable")
        key, endorsements = await self._signing_key(kid)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=self._algorithms,
                audience=self.app_id,
                issuer=self._issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except PyJWTError as error:
            raise AuthError(type(error).__name__) from None
        return claims, endorsements


def check_activity_claims(
    activity: Mapping[str, Any], claims: Mapping[str, Any], endorsements: Optional[List[str]]
) -> None:
    """The token was issued for this activity's connector, by a key endorsed for its channel."""
    claimed = claims.get("serviceurl", claims.get("serviceUrl"))
    if not isinstance(claimed, str) or not same_service_url(claimed, activity["serviceUrl"]):
        raise AuthError("serviceurl claim does not match the activity")
    if endorsements is not None and activity.get("channelId") not in endorsements:
        raise AuthError("signing key not endorsed for this channel")


def tenant_allowed(activity: Mapping[str, Any], tenant_id: str) -> bool:
    """Without a configured tenant every tenant is allowed; with one, only activities naming it (or none)."""
    if not tenant_id:
        return True
    seen = tenant_of(activity)
    return not seen or seen.lower() == tenant_id.lower()
