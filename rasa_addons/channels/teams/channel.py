"""The Teams webhook (a Rasa `InputChannel`) and the replies to one activity (an `OutputChannel`).

The webhook, at /webhooks/teams/webhook, authenticates the request (`auth`), parses the activity
(`activity`), hands the message to Rasa in the background and answers at once (the Bot Framework
gives a bot 15 seconds). Replies are rendered by `render` and posted by `connector`.

With an empty `app_id` the channel is disabled: it contacts nothing and its webhook answers 503
"Teams channel not configured", so the default local setup runs without any Microsoft settings.
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Set

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa_addons.channels.teams.activity import ActivityError, parse_activity, user_text
from rasa_addons.channels.teams.auth import (
    AuthError,
    BotFrameworkAuth,
    KeysUnavailable,
    check_activity_claims,
    tenant_allowed,
)
from rasa_addons.channels.teams.connector import ConnectorClient, LoopSession, activities_url, token_url_for
from rasa_addons.channels.teams.render import choices_card, image_card, summary_card, to_teams_markdown

logger = logging.getLogger(__name__)

NOT_CONFIGURED = "Teams channel not configured"
MAX_BODY_BYTES = 1_000_000

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class TeamsOutput(OutputChannel):
    """Replies to one Teams activity, through the Bot Framework connector at its serviceUrl."""

    @classmethod
    def name(cls) -> str:
        return "teams"

    def __init__(self, connector: ConnectorClient, activity: Mapping[str, Any]) -> None:
        self.connector = connector
        self.service_url: str = activity["serviceUrl"]
        self.conversation: Dict[str, Any] = activity["conversation"]
        self.bot: Dict[str, Any] = activity.get("recipient") or {}
        self.user: Dict[str, Any] = activity.get("from") or {}
        self.reply_to_id: Optional[str] = activity.get("id")

    def activities_url(self) -> str:
        return activities_url(self.service_url, self.conversation["id"], self.reply_to_id)

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
        await self.connector.post_activity(self.activities_url(), message_data)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send(self.prepare_message(recipient_id, {"text": to_teams_markdown(text)}))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        summary = kwargs.get("summary")  # a checklist's summary as data (actions/checklist.py)
        if isinstance(summary, Mapping):
            # One Adaptive Card with the buttons, in place of the text it draws.
            await self.send(self.prepare_message(recipient_id, {"attachments": [summary_card(summary, buttons)]}))
            return
        message: Dict[str, Any] = {"text": to_teams_markdown(text)}
        card = choices_card(buttons)
        if card:
            message["attachments"] = [card]
        await self.send(self.prepare_message(recipient_id, message))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.send(self.prepare_message(recipient_id, {"attachments": [image_card(image)]}))

    async def send_elements(self, recipient_id: str, elements: Iterable[Dict[str, Any]], **kwargs: Any) -> None:
        for element in elements:
            await self.send(self.prepare_message(recipient_id, element))

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        await self.send(self.prepare_message(recipient_id, dict(json_message)))


class TeamsInput(InputChannel):
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

        return cls(
            app_id=get("app_id"),
            app_password=get("app_password"),
            tenant_id=get("tenant_id"),
            openid_config_url=get("openid_config_url"),
            token_url=get("token_url"),
            issuer=get("issuer"),
        )

    def __init__(
        self,
        app_id: str,
        app_password: str,
        tenant_id: str = "",
        openid_config_url: str = "",
        token_url: str = "",
        issuer: str = "",
    ) -> None:
        self.app_id = app_id or ""
        self.tenant_id = tenant_id or ""
        self.enabled = bool(self.app_id and app_password)
        if self.app_id and not app_password:
            logger.error("Teams channel disabled: TEAMS_APP_ID is set but TEAMS_APP_PASSWORD is empty.")
        elif not self.enabled:
            logger.info("Teams channel disabled (no TEAMS_APP_ID); its webhook answers 503.")
        self.http = LoopSession()
        self.auth = BotFrameworkAuth(self.app_id, openid_config_url, self.http, issuer=issuer)
        self.connector = ConnectorClient(
            self.app_id, app_password or "", token_url or token_url_for(self.tenant_id), self.http
        )
        self._tasks: Set["asyncio.Task[None]"] = set()

    @property
    def openid_config_url(self) -> str:
        return self.auth.openid_config_url

    @property
    def token_url(self) -> str:
        return self.connector.token_url

    async def close(self) -> None:
        await self.http.close()

    async def _run(self, on_new_message: OnNewMessage, message: UserMessage) -> None:
        try:
            await on_new_message(message)
        except Exception:  # noqa: BLE001 - a failed message must not take the channel down
            logger.exception("Teams: could not handle a message.")

    async def handle(self, headers: Mapping[str, str], body: bytes, on_new_message: OnNewMessage) -> HTTPResponse:
        """One POST to the webhook: authenticate, parse, hand the message to Rasa, answer at once."""
        if not self.enabled:
            return response.text(NOT_CONFIGURED, status=HTTPStatus.SERVICE_UNAVAILABLE)
        if len(body or b"") > MAX_BODY_BYTES:
            return response.text("Activity too large.", status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        try:
            claims, endorsements = await self.auth.verify_token(headers.get("Authorization"))
            activity = parse_activity(body or b"")
            check_activity_claims(activity, claims, endorsements)
        except KeysUnavailable:
            return response.text("Bot Framework signing keys unavailable.", status=HTTPStatus.SERVICE_UNAVAILABLE)
        except AuthError as error:
            logger.warning("Teams: refused an activity (%s).", error)
            return response.text("Unauthorized.", status=HTTPStatus.UNAUTHORIZED)
        except ActivityError as error:
            return response.text(f"Bad activity: {error}.", status=HTTPStatus.BAD_REQUEST)
        if not tenant_allowed(activity, self.tenant_id):
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
            output_channel=TeamsOutput(self.connector, activity),
            sender_id=activity["from"]["id"],
            input_channel=self.name(),
            message_id=activity.get("id"),
            metadata={
                "teams": {
                    "conversation_type": conversation.get("conversationType"),
                    "channel_id": activity.get("channelId"),
                }
            },
        )
        task = asyncio.create_task(self._run(on_new_message, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return response.text("", status=HTTPStatus.OK)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
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
        async def close_session(app: Any, loop: Any) -> None:
            await self.close()

        return teams_webhook
