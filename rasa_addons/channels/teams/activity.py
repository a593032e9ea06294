"""Incoming Bot Framework activities: what a request body must hold before anything answers it.

Pure functions. Malformed JSON, or an activity without the fields a reply needs, is an
`ActivityError` (the webhook answers 400, never 500).
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any, Dict, Mapping
from urllib.parse import urlsplit

from rasa_addons.channels.teams.render import payload_from_value, without_mentions


class ActivityError(ValueError):
    """The request body is not an activity this channel can answer (HTTP 400)."""


def service_url_ok(url: str) -> bool:
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


def same_service_url(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


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
    return without_mentions(text)


def tenant_of(activity: Mapping[str, Any]) -> str:
    """The Entra tenant id the activity names (channelData.tenant.id, else conversation.tenantId)."""
    channel_data = activity.get("channelData") if isinstance(activity.get("channelData"), dict) else {}
    tenant = channel_data.get("tenant") if isinstance(channel_data.get("tenant"), dict) else {}
    conversation = activity.get("conversation") if isinstance(activity.get("conversation"), dict) else {}
    return str(tenant.get("id") or conversation.get("tenantId") or "")


def parse_activity(body: bytes) -> Dict[str, Any]:
    try:
        activity = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ActivityError("body is not JSON") from None
    if not isinstance(activity, dict):
        raise ActivityError("body is not a JSON object")
    if not isinstance(activity.get("type"), str):
        raise ActivityError("activity has no type")
    service_url = activity.get("serviceUrl")
    if not isinstance(service_url, str) or not service_url_ok(service_url):
        raise ActivityError("activity has no usable serviceUrl")
    if activity["type"] == "message":
        conversation, sender = activity.get("conversation"), activity.get("from")
        if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str) or not conversation["id"]:
            raise ActivityError("message has no conversation id")
        if not isinstance(sender, dict) or not isinstance(sender.get("id"), str) or not sender["id"]:
            raise ActivityError("message has no sender id")
        if not isinstance(activity.get("recipient", {}), dict):
            raise ActivityError("recipient must be an object")
        if activity.get("id") is not None and not isinstance(activity["id"], str):
            raise ActivityError("id must be a string")
        user_text(activity)
    return activity
