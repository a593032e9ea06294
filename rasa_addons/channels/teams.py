"""Microsoft Teams channel (Azure Bot Service / Bot Framework) for Rasa 3.6.

Rasa's own `botframework` channel cannot be used as it is (see docs/teams.md and
../shared/rasa-notes.md): it fetches Microsoft's signing keys over the network when Rasa starts (so
Rasa cannot start offline or while login.botframework.com is unreachable); it checks a token's
signature, audience and expiry but not its issuer or its `serviceurl` claim; it always asks the shared
`botframework.com` tenant for tokens (single-tenant bots get AADSTS700016); it posts replies with
blocking `requests` and no timeout inside the event loop; Rasa buttons reach Teams as a hero card of
buttons without an action type, which Teams does not make clickable; and a card submit (an activity
with `value` and no text) reaches Rasa as an empty message.

`TeamsInput` keeps the Bot Framework protocol and fixes those points:

- nothing is fetched at start; the OpenID configuration and its signing keys are fetched (without
  blocking the event loop, with timeouts) on the first activity, refreshed daily and when a token
  names an unknown key (Microsoft rotates keys), at most every five minutes;
- an incoming token must be signed by one of those keys with an allowed RSA algorithm (never the one
  the token names for itself), for `aud` = the app id, by the configured issuer
  (`https://api.botframework.com`), not expired (five minutes' clock skew), with a `serviceurl` claim
  equal to the activity's `serviceUrl`, and by a key endorsed for the activity's `channelId` when the
  key lists endorsements; otherwise 401. With a tenant id set, activities from other tenants get 403;
- malformed JSON or an activity without the fields a reply needs gets 400, never a 500;
- the message is handed to Rasa in the background and the webhook answers at once (the Bot Framework
  gives a bot 15 seconds); replies go to `{serviceUrl}v3/conversations/{id}/activities/{replyToId}`
  with aiohttp and timeouts, with an OAuth token from the tenant's token URL, cached until shortly
  before it expires;
- text is sent as Teams markdown with its line breaks kept and `Source:` citation lines in italics;
  buttons become an Adaptive Card whose `Action.Submit` actions carry the Rasa payload (as Teams
  `messageBack`, showing the button title in the chat), and a card submit becomes a user message with
  that payload.

With an empty `app_id` the channel is disabled: it contacts nothing and its webhook answers 503
"Teams channel not configured", so the default local setup runs without any Microsoft settings.
"""
from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import time
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote, urlsplit

import aiohttp
import jwt
from jwt import PyJWTError
from jwt.algorithms import RSAAlgorithm
from rasa.core.channels.botframework import BotFramework, BotFrameworkInput
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

DEFAULT_OPENID_CONFIG_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
MULTI_TENANT_TOKEN_URL = "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"
SINGLE_TENANT_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
NOT_CONFIGURED = "Teams channel not configured"

ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512")
CLOCK_SKEW_SECONDS = 300
KEY_MAX_AGE_SECONDS = 24 * 3600
KEY_REFRESH_MIN_INTERVAL_SECONDS = 300
KEY_RETRY_WHEN_NONE_SECONDS = 30
TOKEN_REFRESH_MARGIN_SECONDS = 300
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)
MAX_BODY_BYTES = 1_000_000

BEARER = re.compile(r"^Bearer\s+(\S+)\s*$", re.IGNORECASE)
MENTION = re.compile(r"<at[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
SOURCE_LINE = re.compile(r"^Source:\s")
LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
AADSTS = re.compile(r"AADSTS\d+")


class ActivityError(ValueError):
    """The request body is not an activity this channel can answer (HTTP 400)."""


class AuthError(Exception):
    """The request is not from the Bot Framework for this bot (HTTP 401)."""


class KeysUnavailable(Exception):
    """The signing keys could not be fetched, so no token can be checked (HTTP 503)."""


# --- rendering (pure functions) -------------------------------------------------------------------

def _italic(line: str) -> str:
    return "*" + line.replace("*", r"\*") + "*"


def to_teams_markdown(text: str) -> str:
    """Bot text as Teams markdown: paragraphs and line breaks kept, `Source:` lines in italics.

    Teams joins lines separated by a single newline, so each line becomes its own paragraph, except
    consecutive list items, which stay one list.
    """
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", (text or "").strip()) if p.strip()]
    rendered = []
    for paragraph in paragraphs:
        lines = [line.strip() for line in paragraph.split("\n") if line.strip()]
        out = ""
        for i, line in enumerate(lines):
            shown = _italic(line) if SOURCE_LINE.match(line) else line
            if i == 0:
                out = shown
            elif LIST_ITEM.match(line) and LIST_ITEM.match(lines[i - 1]):
                out += "\n" + shown
            else:
                out += "\n\n" + shown
        rendered.append(out)
    return "\n\n".join(rendered)


def choices_card(buttons: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """Rasa buttons as an Adaptive Card attachment: one clickable `Action.Submit` per button.

    Each action sends a Teams `messageBack`: the chat shows the button title, and the bot receives
    an activity whose `value` carries the Rasa payload (`{"payload": ...}`). One ActionSet per button
    keeps the choices in a vertical list, as Teams would otherwise squeeze them into one row.
    """
    body = []
    for button in buttons or []:
        if not isinstance(button, Mapping):
            continue
        title = str(button.get("title") or button.get("payload") or "").strip()
        payload = str(button.get("payload") or title).strip()
        if not title or not payload:
            continue
        value = {"payload": payload}
        body.append({
            "type": "ActionSet",
            "actions": [{
                "type": "Action.Submit",
                "title": title,
                "data": {
                    "payload": payload,
                    "msteams": {"type": "messageBack", "displayText": title, "value": json.dumps(value)},
                },
            }],
        })
    if not body:
        return None
    return {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "content": {
            "type": "AdaptiveCard",
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": "1.2",
            "body": body,
        },
    }


def payload_from_value(value: Any) -> Optional[str]:
    """The Rasa payload carried by a card submit's `value` (a dict, or a JSON string of one)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, Mapping):
        return None
    payload = value.get("payload")
    if payload is None and isinstance(value.get("msteams"), Mapping):
        return payload_from_value(value["msteams"].get("value"))
    if isinstance(payload, str) and payload.strip():
        return payload.strip()
    return None


def user_text(activity: Mapping[str, Any]) -> str:
    """What the user said: a card submit's payload, else the text without `<at>bot</at>` mentions."""
    payload = payload_from_value(activity.get("value"))
    if payload:
        return payload
    text = activity.get("text")
    if text is None:
        return ""
    if not isinstance(text, str):
        raise ActivityError("text must be a string")
    return MENTION.sub(" ", text).strip()


def _service_url_ok(url: str) -> bool:
    """https, or http to this machine only (a local stand-in connector): never send a token elsewhere."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def _same_service_url(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def parse_activity(body: bytes) -> Dict[str, Any]:
    try:
        activity = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ActivityError("body is not JSON")
    if not isinstance(activity, dict):
        raise ActivityError("body is not a JSON object")
    if not isinstance(activity.get("type"), str):
        raise ActivityError("activity has no type")
    service_url = activity.get("serviceUrl")
    if not isinstance(service_url, str) or not _service_url_ok(service_url):
        raise ActivityError("activity has no usable serviceUrl")
    if activity["type"] == "message":
        conversation, sender = activity.get("conversation"), activity.get("from")
        if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str) \
                or not conversation["id"]:
            raise ActivityError("message has no conversation id")
        if not isinstance(sender, dict) or not isinstance(sender.get("id"), str) or not sender["id"]:
            raise ActivityError("message has no sender id")
        if not isinstance(activity.get("recipient", {}), dict):
            raise ActivityError("recipient must be an object")
        if activity.get("id") is not None and not isinstance(activity["id"], str):
            raise ActivityError("id must be a string")
        user_text(activity)
    return activity


# --- output ---------------------------------------------------------------------------------------

class TeamsOutput(BotFramework):
    """Replies to one Teams activity, through the Bot Framework connector at its serviceUrl."""

    @classmethod
    def name(cls) -> str:
        return "teams"

    def __init__(self, channel: "TeamsInput", activity: Dict[str, Any]) -> None:
        super().__init__(channel.app_id, channel.app_password, activity["conversation"],
                         activity.get("recipient") or {}, activity["serviceUrl"])
        self.channel = channel
        self.user = activity.get("from") or {}
        self.reply_to_id = activity.get("id")

    async def _get_headers(self) -> Optional[Dict[str, Any]]:
        token = await self.channel.access_token()
        return {"Authorization": f"Bearer {token}"} if token else None

    def activities_url(self) -> str:
        conversation = quote(str(self.conversation["id"]), safe="")
        url = f"{self.global_uri}conversations/{conversation}/activities"
        return f"{url}/{quote(self.reply_to_id, safe='')}" if self.reply_to_id else url

    def prepare_message(self, recipient_id: str, message_data: Dict[str, Any]) -> Dict[str, Any]:
        recipient = self.user if self.user.get("id") == recipient_id else {"id": recipient_id}
        data: Dict[str, Any] = {
            "type": "message",
            "from": self.bot,
            "recipient": recipient,
            "conversation": {"id": self.conversation["id"]},
            "textFormat": "markdown",
            "text": "",
        }
        if self.reply_to_id:
            data["replyToId"] = self.reply_to_id
        data.update(message_data)
        return data

    async def send(self, message_data: Dict[str, Any]) -> None:
        await self.channel.post_activity(self.activities_url(), message_data)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send(self.prepare_message(recipient_id, {"text": to_teams_markdown(text)}))

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: List[Dict[str, Any]],
                                     **kwargs: Any) -> None:
        message: Dict[str, Any] = {"text": to_teams_markdown(text)}
        card = choices_card(buttons)
        if card:
            message["attachments"] = [card]
        await self.send(self.prepare_message(recipient_id, message))

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        await self.send(self.prepare_message(recipient_id, dict(json_message)))


# --- input ----------------------------------------------------------------------------------------

class TeamsInput(BotFrameworkInput):
    """Teams through the Bot Framework: webhook at /webhooks/teams/webhook."""

    @classmethod
    def name(cls) -> str:
        return "teams"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        credentials = credentials or {}

        def get(key: str) -> str:
            value = credentials.get(key)
            return "" if value is None else str(value).strip()

        return cls(app_id=get("app_id"), app_password=get("app_password"), tenant_id=get("tenant_id"),
                   openid_config_url=get("openid_config_url"), token_url=get("token_url"),
                   issuer=get("issuer"))

    def __init__(self, app_id: str, app_password: str, tenant_id: str = "", openid_config_url: str = "",
                 token_url: str = "", issuer: str = "") -> None:
        # BotFrameworkInput.__init__ is deliberately not called: it fetches keys over the network.
        self.app_id = app_id or ""
        self.app_password = app_password or ""
        self.tenant_id = tenant_id or ""
        self.openid_config_url = openid_config_url or DEFAULT_OPENID_CONFIG_URL
        self.token_url = token_url or (SINGLE_TENANT_TOKEN_URL.format(tenant=quote(self.tenant_id, safe=""))
                                       if self.tenant_id else MULTI_TENANT_TOKEN_URL)
        self.configured_issuer = issuer
        self.enabled = bool(self.app_id and self.app_password)
        if self.app_id and not self.app_password:
            logger.error("Teams channel disabled: TEAMS_APP_ID is set but TEAMS_APP_PASSWORD is empty.")
        elif not self.enabled:
            logger.info("Teams channel disabled (no TEAMS_APP_ID); its webhook answers 503.")
        # Inherited attribute names, kept for compatibility.
        self.jwt_keys: Dict[str, Any] = {}
        self._keys: Dict[str, Tuple[Any, Optional[List[str]]]] = {}
        self._issuer = issuer or BOT_FRAMEWORK_ISSUER
        self._algorithms: List[str] = ["RS256"]
        self._keys_fetched_at = float("-inf")
        self._last_key_attempt = float("-inf")
        self._token: Optional[str] = None
        self._token_expires = float("-inf")
        self._session: Optional[aiohttp.ClientSession] = None
        self._session_loop: Optional[asyncio.AbstractEventLoop] = None
        self._locks: Dict[str, asyncio.Lock] = {}
        self._tasks: set = set()

    # Never used: the stock versions block the event loop and contact Microsoft's fixed URLs.
    def _update_cached_jwk_keys(self) -> None:  # pragma: no cover
        raise RuntimeError("TeamsInput fetches its keys asynchronously")

    # --- HTTP client ---

    def _http(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            self._session = aiohttp.ClientSession(timeout=HTTP_TIMEOUT)
            self._session_loop = loop
            self._locks = {}
        return self._session

    def _lock(self, name: str) -> asyncio.Lock:
        self._http()
        if name not in self._locks:
            self._locks[name] = asyncio.Lock()
        return self._locks[name]

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    # --- incoming tokens ---

    async def _refresh_keys(self) -> None:
        self._last_key_attempt = time.monotonic()
        session = self._http()
        async with session.get(self.openid_config_url) as reply:
            reply.raise_for_status()
            config = await reply.json(content_type=None)
        async with session.get(config["jwks_uri"]) as reply:
            reply.raise_for_status()
            document = await reply.json(content_type=None)
        keys: Dict[str, Tuple[Any, Optional[List[str]]]] = {}
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
        self.jwt_keys = {kid: True for kid in keys}
        self._issuer = self.configured_issuer or str(config.get("issuer") or BOT_FRAMEWORK_ISSUER)
        supported = config.get("id_token_signing_alg_values_supported") or ["RS256"]
        self._algorithms = [a for a in ALLOWED_ALGORITHMS if a in supported] or ["RS256"]
        self._keys_fetched_at = time.monotonic()
        logger.info("Teams: loaded %d Bot Framework signing keys.", len(keys))

    async def _signing_key(self, kid: str) -> Tuple[Any, Optional[List[str]]]:
        async with self._lock("keys"):
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
                    logger.warning("Teams: could not fetch the signing keys from %s (%s).",
                                   self.openid_config_url, type(error).__name__)
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
            raise AuthError("malformed token")
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("alg") not in ALLOWED_ALGORITHMS:
            raise AuthError("token header not acceptable")
        key, endorsements = await self._signing_key(kid)
        try:
            claims = jwt.decode(token, key=key, algorithms=self._algorithms, audience=self.app_id,
                                issuer=self._issuer, leeway=CLOCK_SKEW_SECONDS,
                                options={"require": ["exp", "iss", "aud"]})
        except PyJWTError as error:
            raise AuthError(type(error).__name__)
        return claims, endorsements

    @staticmethod
    def check_activity_claims(activity: Mapping[str, Any], claims: Mapping[str, Any],
                              endorsements: Optional[List[str]]) -> None:
        claimed = claims.get("serviceurl", claims.get("serviceUrl"))
        if not isinstance(claimed, str) or not _same_service_url(claimed, activity["serviceUrl"]):
            raise AuthError("serviceurl claim does not match the activity")
        if endorsements is not None and activity.get("channelId") not in endorsements:
            raise AuthError("signing key not endorsed for this channel")

    def tenant_allowed(self, activity: Mapping[str, Any]) -> bool:
        if not self.tenant_id:
            return True
        channel_data = activity.get("channelData") if isinstance(activity.get("channelData"), dict) else {}
        tenant = channel_data.get("tenant") if isinstance(channel_data.get("tenant"), dict) else {}
        conversation = activity.get("conversation") if isinstance(activity.get("conversation"), dict) else {}
        seen = tenant.get("id") or conversation.get("tenantId")
        return not seen or str(seen).lower() == self.tenant_id.lower()

    # --- outgoing ---

    async def access_token(self, force: bool = False) -> Optional[str]:
        """An OAuth token for the connector (client credentials), cached until shortly before expiry."""
        if not force and self._token and time.monotonic() < self._token_expires:
            return self._token
        async with self._lock("token"):
            if not force and self._token and time.monotonic() < self._token_expires:
                return self._token
            form = {"grant_type": "client_credentials", "client_id": self.app_id,
                    "client_secret": self.app_password, "scope": BOT_FRAMEWORK_SCOPE}
            try:
                async with self._http().post(self.token_url, data=form) as reply:
                    body = await reply.text()
                    if reply.status != 200:
                        codes = sorted(set(AADSTS.findall(body)))
                        hint = (" (AADSTS700016: a single-tenant bot needs TEAMS_TENANT_ID)"
                                if "AADSTS700016" in codes else "")
                        logger.error("Teams: the token endpoint %s refused the app credentials: HTTP %s %s%s",
                                     self.token_url, reply.status, " ".join(codes), hint)
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
                async with self._http().post(url, json=activity,
                                             headers={"Authorization": f"Bearer {token}"}) as reply:
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

    # --- webhook ---

    async def _run(self, on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage) -> None:
        try:
            await on_new_message(message)
        except Exception:  # noqa: BLE001 - a failed message must not take the channel down
            logger.exception("Teams: could not handle a message.")

    async def handle(self, headers: Mapping[str, str], body: bytes,
                     on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        """One POST to the webhook: authenticate, parse, hand the message to Rasa, answer at once."""
        if not self.enabled:
            return response.text(NOT_CONFIGURED, status=HTTPStatus.SERVICE_UNAVAILABLE)
        if len(body or b"") > MAX_BODY_BYTES:
            return response.text("Activity too large.", status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        try:
            claims, endorsements = await self.verify_token(headers.get("Authorization"))
            activity = parse_activity(body or b"")
            self.check_activity_claims(activity, claims, endorsements)
        except KeysUnavailable:
            return response.text("Bot Framework signing keys unavailable.", status=HTTPStatus.SERVICE_UNAVAILABLE)
        except AuthError as error:
            logger.warning("Teams: refused an activity (%s).", error)
            return response.text("Unauthorized.", status=HTTPStatus.UNAUTHORIZED)
        except ActivityError as error:
            return response.text(f"Bad activity: {error}.", status=HTTPStatus.BAD_REQUEST)
        if not self.tenant_allowed(activity):
            logger.warning("Teams: refused an activity from another tenant.")
            return response.text("Tenant not allowed.", status=HTTPStatus.FORBIDDEN)
        if activity["type"] != "message":
            return response.text("", status=HTTPStatus.OK)
        text = user_text(activity)
        if not text:
            return response.text("", status=HTTPStatus.OK)
        conversation = activity["conversation"]
        message = UserMessage(
            text=text,
            output_channel=TeamsOutput(self, activity),
            sender_id=activity["from"]["id"],
            input_channel=self.name(),
            message_id=activity.get("id"),
            metadata={"teams": {"conversation_type": conversation.get("conversationType"),
                                "channel_id": activity.get("channelId")}},
        )
        task = asyncio.create_task(self._run(on_new_message, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return response.text("", status=HTTPStatus.OK)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        teams_webhook = Blueprint("teams_webhook", __name__)

        @teams_webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            if not self.enabled:
                return response.json({"status": "not configured"}, status=HTTPStatus.SERVICE_UNAVAILABLE)
            return response.json({"status": "ok"})

        @teams_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            return await self.handle(request.headers, request.body, on_new_message)

        @teams_webhook.listener("after_server_stop")
        async def close_session(app, loop) -> None:
            await self.close()

        return teams_webhook
