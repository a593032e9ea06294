"""Outgoing: an OAuth token for the bot and replies posted to the Bot Framework connector.

Replies go to `{serviceUrl}v3/conversations/{id}/activities/{replyToId}` with aiohttp (never
blocking the event loop) and timeouts, with a client-credentials token from the tenant's token URL
(`TEAMS_TENANT_ID`; the shared `botframework.com` tenant without one), cached until shortly before
it expires. A 401 from the connector is retried once with a new token. Secrets and tokens are never
logged; a refused token request is logged with its AADSTS codes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any, Dict, Optional
from urllib.parse import quote

import aiohttp

logger = logging.getLogger(__name__)

MULTI_TENANT_TOKEN_URL = "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"
SINGLE_TENANT_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
TOKEN_REFRESH_MARGIN_SECONDS = 300
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)
AADSTS = re.compile(r"AADSTS\d+")


def token_url_for(tenant_id: str) -> str:
    """The tenant's token URL for a single-tenant bot, else the shared Bot Framework tenant's."""
    return SINGLE_TENANT_TOKEN_URL.format(tenant=quote(tenant_id, safe="")) if tenant_id else MULTI_TENANT_TOKEN_URL


def activities_url(service_url: str, conversation_id: str, reply_to_id: Optional[str] = None) -> str:
    """`{serviceUrl}v3/conversations/{id}/activities[/{replyToId}]`, with or without a trailing slash."""
    base = service_url if service_url.endswith("/") else service_url + "/"
    url = f"{base}v3/conversations/{quote(str(conversation_id), safe='')}/activities"
    return f"{url}/{quote(reply_to_id, safe='')}" if reply_to_id else url


class LoopSession:
    """One aiohttp session (with timeouts) and named locks, made again if the event loop changes."""

    def __init__(self, timeout: aiohttp.ClientTimeout = HTTP_TIMEOUT) -> None:
        self.timeout = timeout
        self._session: Optional[aiohttp.ClientSession] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._locks: Dict[str, asyncio.Lock] = {}

    def session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
            self._loop = loop
            self._locks = {}
        return self._session

    def lock(self, name: str) -> asyncio.Lock:
        self.session()
        if name not in self._locks:
            self._locks[name] = asyncio.Lock()
        return self._locks[name]

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


class ConnectorClient:
    """The bot's side of the Bot Framework connector: its token, and posting activities."""

    def __init__(self, app_id: str, app_password: str, token_url: str, http: LoopSession) -> None:
        self.app_id = app_id
        self.app_password = app_password
        self.token_url = token_url
        self.http = http
        self._token: Optional[str] = None
        self._token_expires = float("-inf")

    def _cached_token(self) -> Optional[str]:
        return self._token if self._token and time.monotonic() < self._token_expires else None

    async def access_token(self, force: bool = False) -> Optional[str]:
        """An OAuth token for the connector (client credentials), cached until shortly before expiry."""
        if not force and self._cached_token():
            return self._token
        async with self.http.lock("token"):
            if not force and self._cached_token():
                return self._token
            form = {
                "grant_type": "client_credentials",
                "client_id": self.app_id,
                "client_secret": self.app_password,
                "scope": BOT_FRAMEWORK_SCOPE,
            }
            try:
                async with self.http.session().post(self.token_url, data=form) as reply:
                    body = await reply.text()
                    if reply.status != 200:
                        codes = sorted(set(AADSTS.findall(body)))
                        hint = (
                            " (AADSTS700016: a single-tenant bot needs TEAMS_TENANT_ID)"
                            if "AADSTS700016" in codes
                            else ""
                        )
                        logger.error(
                            "Teams: the token endpoint %s refused the app credentials: HTTP %s %s%s",
                            self.token_url,
                            reply.status,
                            " ".join(codes),
                            hint,
                        )
                        return None
                    data = json.loads(body)
                    token, expires_in = str(data["access_token"]), int(data.get("expires_in", 3600))
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, KeyError, TypeError) as error:
                logger.error("Teams: could not get a token from %s (%s).", self.token_url, type(error).__name__)
                return None
            self._token = token
            self._token_expires = time.monotonic() + max(60, expires_in - TOKEN_REFRESH_MARGIN_SECONDS)
            return token

    async def post_activity(self, url: str, activity: Dict[str, Any]) -> bool:
        """POST one reply to the connector; retry once with a new token if the connector says 401."""
        for attempt in (1, 2):
            token = await self.access_token(force=attempt == 2)
            if not token:
                return False
            try:
                async with self.http.session().post(
                    url, json=activity, headers={"Authorization": f"Bearer {token}"}
                ) as reply:
                    if reply.status == 401 and attempt == 1:
                        continue
                    if reply.status >= 300:
                        logger.error("Teams: the connector refused a reply: HTTP %s.", reply.status)
                        return False
                    return True
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                logger.error("Teams: could not post a reply to the connector (%s).", type(error).__name__)
                return False
        return False
