"""The Microsoft Teams channel, offline: a real Rasa stack and a stand-in Bot Framework connector.

The stand-in (a threaded http.server on 127.0.0.1, so the bot's replies never wait on the test's own
event loop) serves what Microsoft serves: an OpenID configuration and its JWKS (an RSA key made here),
an OAuth token endpoint, and the connector's `v3/conversations/{id}/activities/{activityId}`, where it
records the bot's replies. Activities are real Bot Framework JSON as Teams sends it, with a token
signed by the stand-in's key, posted to /webhooks/teams/webhook.

What this cannot show (docs/teams.md): that Microsoft's token issuance and key rotation behave as
the stand-in does, how the Teams clients render the markdown and cards, and tenant policies.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import parse_qs, unquote

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from rasa_addons.channels.teams import NOT_CONFIGURED, TeamsInput
from rasa_addons.channels.teams.render import choices_card, payload_from_value, summary_card, to_teams_markdown
from tests.conftest import stack_settings, start_stack

APP_ID = "6f1c3c5e-2b7a-4d38-9a0e-3d5c8b1f2a47"
APP_PASSWORD = "stand-in-client-secret-" + uuid.uuid4().hex[:8]
TENANT_ID = "9b2d1e6a-7c4f-4e1b-8d3a-5f6e7a8b9c0d"
ISSUER = "https://api.botframework.com"
KID = "stand-in-key-1"
CONNECTOR_TOKEN = "connector-access-token-" + uuid.uuid4().hex[:8]


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Connector:
    """A stand-in for login.botframework.com, login.microsoftonline.com and the Teams connector."""

    def __init__(self) -> None:
        self.key = new_key()
        self.lock = threading.Lock()
        self.requests: List[str] = []
        self.token_requests: List[Dict[str, str]] = []
        self.activities: List[Dict[str, Any]] = []
        connector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, body: Any, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                with connector.lock:
                    connector.requests.append("GET " + self.path)
                if self.path == "/openid":
                    self._json(
                        {
                            "issuer": ISSUER,
                            "jwks_uri": f"{connector.base}/keys",
                            "id_token_signing_alg_values_supported": ["RS256"],
                            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                        }
                    )
                elif self.path == "/keys":
                    jwk = RSAAlgorithm.to_jwk(connector.key.public_key(), as_dict=True)
                    jwk.update({"kid": KID, "use": "sig", "endorsements": ["msteams", "webchat"]})
                    self._json({"keys": [jwk]})
                else:
                    self._json({"error": "not found"}, 404)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with connector.lock:
                    connector.requests.append("POST " + self.path)
                if self.path == "/token":
                    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    with connector.lock:
                        connector.token_requests.append(form)
                    if form.get("client_id") != APP_ID or form.get("client_secret") != APP_PASSWORD:
                        self._json({"error": "invalid_client", "error_description": "AADSTS7000215"}, 401)
                        return
                    self._json({"token_type": "Bearer", "expires_in": 3599, "access_token": CONNECTOR_TOKEN})
                    return
                parts = self.path.split("/")
                # /v3/conversations/{id}/activities[/{activityId}]
                if len(parts) in (5, 6) and parts[1:3] == ["v3", "conversations"] and parts[4] == "activities":
                    with connector.lock:
                        connector.activities.append(
                            {
                                "conversation": unquote(parts[3]),
                                "reply_to": unquote(parts[5]) if len(parts) == 6 else None,
                                "authorization": self.headers.get("Authorization"),
                                "activity": json.loads(body),
                            }
                        )
                    self._json({"id": uuid.uuid4().hex})
                    return
                self._json({"error": "not found"}, 404)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "Connector":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def posted(self, conversation_id: str) -> List[Dict[str, Any]]:
        with self.lock:
            return [a for a in self.activities if a["conversation"] == conversation_id]

    def wait_for(
        self, conversation_id: str, done: Callable[[List[Dict[str, Any]]], bool], timeout: float = 45
    ) -> List[Dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            posted = self.posted(conversation_id)
            if done(posted):
                time.sleep(0.3)  # let any further replies to the same message arrive
                return self.posted(conversation_id)
            time.sleep(0.1)
        raise AssertionError(f"no matching reply within {timeout} s; got {self.posted(conversation_id)}")

    def sign(self, key: Optional[rsa.RSAPrivateKey] = None, kid: str = KID, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": APP_ID,
            "nbf": now - 10,
            "iat": now - 10,
            "exp": now + 600,
            "serviceurl": self.base,
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid})


def teams_activity(
    connector: Connector,
    text: Optional[str] = None,
    *,
    user: str = "",
    conversation: str = "",
    service_url: Optional[str] = None,
    value: Any = None,
    tenant: str = TENANT_ID,
    kind: str = "message",
) -> Dict[str, Any]:
    """An activity as the Teams service sends it for a personal (1:1) chat."""
    activity: Dict[str, Any] = {
        "type": kind,
        "id": str(int(time.time() * 1000)) + uuid.uuid4().hex[:4],
        "timestamp": "2024-05-01T10:00:00.000Z",
        "localTimestamp": "2024-05-01T11:00:00.000+01:00",
        "serviceUrl": service_url if service_url is not None else connector.base,
        "channelId": "msteams",
        "from": {
            "id": user or "29:1" + uuid.uuid4().hex,
            "name": "Test Practitioner",
            "aadObjectId": str(uuid.uuid4()),
        },
        "conversation": {
            "conversationType": "personal",
            "tenantId": tenant,
            "id": conversation or "a:1" + uuid.uuid4().hex,
        },
        "recipient": {"id": "28:" + APP_ID, "name": "Safeguarding guidance"},
        "textFormat": "plain",
        "locale": "en-GB",
        "entities": [{"type": "clientInfo", "locale": "en-GB", "country": "GB", "platform": "Web"}],
        "channelData": {"tenant": {"id": tenant}},
    }
    if text is not None:
        activity["text"] = text
    if value is not None:
        activity["value"] = value
    return activity


def send(
    stack,
    activity: Any = None,
    token: Optional[str] = None,
    body: Optional[bytes] = None,
    authorization: Optional[str] = None,
) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if body is not None else json.dumps(activity).encode()
    return requests.post(f"{stack.rasa_url}/webhooks/teams/webhook", data=data, headers=headers, timeout=30)


def text_of(posted: List[Dict[str, Any]]) -> str:
    return "\n".join(p["activity"].get("text", "") for p in posted)


def card_actions(posted: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    actions = []
    for p in posted:
        for attachment in p["activity"].get("attachments") or []:
            if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
                continue
            card = attachment["content"]
            actions.extend(card.get("actions") or [])
            for element in card.get("body") or []:
                if element.get("type") == "ActionSet":
                    actions.extend(element["actions"])
    return actions


def posted_before_a_later_message(stack, connector: Connector, user: str, conversation: str) -> List[Dict[str, Any]]:
    """Replies posted in `conversation` to anything but a valid message sent now, once that is answered.

    Shows that nothing was handed to Rasa for the activities sent before, without a fixed sleep: Rasa
    handles one sender's messages in turn (its lock store), so by the time the later message is
    answered, anything handed to Rasa earlier for the same user has been answered too.
    """
    later = teams_activity(connector, "what are the MAPPA levels?", user=user, conversation=conversation)
    assert send(stack, later, connector.sign()).status_code == 200
    posted = connector.wait_for(
        conversation, lambda p: "Level 3" in text_of([r for r in p if r["reply_to"] == later["id"]])
    )
    return [r for r in posted if r["reply_to"] != later["id"]]


def submit_value(action: Dict[str, Any]) -> Dict[str, Any]:
    """The `value` Teams sends when an Action.Submit with a msteams messageBack is clicked."""
    data = dict(action["data"])
    msteams = data.pop("msteams", {})
    extra = msteams.get("value")
    if isinstance(extra, str):
        extra = json.loads(extra)
    return {**data, **(extra or {})}


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def connector():
    running = Connector().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def teams_stack(tmp_path_factory, connector):
    settings = stack_settings(
        tmp_path_factory.mktemp("teams"),
        teams_app_id=APP_ID,
        teams_app_password=APP_PASSWORD,
        teams_tenant_id=TENANT_ID,
        teams_openid_config_url=f"{connector.base}/openid",
        teams_token_url=f"{connector.base}/token",
    )
    stack = start_stack(settings, "teams")
    assert not [r for r in connector.requests if r.startswith("GET")], "keys must not be fetched at start"
    yield stack
    stack.stop()


# --- through the real stack -------------------------------------------------------------------------


@pytest.mark.integration
def test_question_gets_an_answer_with_levels_and_citation(teams_stack, connector):
    # serviceUrl without a trailing slash (Rasa's channel broke on that: RasaHQ/rasa #5056).
    activity = teams_activity(connector, "what are the MAPPA levels?", service_url=connector.base)
    assert send(teams_stack, activity, connector.sign()).status_code == 200
    conversation = activity["conversation"]["id"]
    posted = connector.wait_for(conversation, lambda p: "Level 3" in text_of(p))
    text = text_of(posted)
    for level in ("Level 1", "Level 2", "Level 3"):
        assert level in text
    assert "*Source: West Midlands procedure 2.14" in text, "citation line in italics"
    assert "\n\n" in text, "paragraphs kept"
    for reply in posted:
        assert reply["reply_to"] == activity["id"]
        assert reply["authorization"] == f"Bearer {CONNECTOR_TOKEN}"
        sent = reply["activity"]
        assert sent["type"] == "message" and sent["textFormat"] == "markdown"
        assert sent["replyToId"] == activity["id"]
        assert sent["recipient"]["id"] == activity["from"]["id"]
        assert sent["from"]["id"] == activity["recipient"]["id"]
        assert sent["conversation"]["id"] == conversation
    assert "Where does that come from?" in [a["title"] for a in card_actions(posted)]


@pytest.mark.integration
def test_local_topic_offers_a_card_and_its_submit_answers(teams_stack, connector):
    user = "29:1" + uuid.uuid4().hex
    conversation = "a:1" + uuid.uuid4().hex
    service_url = connector.base + "/"
    question = teams_activity(
        connector, "who makes the decision to disclose?", user=user, conversation=conversation, service_url=service_url
    )
    assert send(teams_stack, question, connector.sign(serviceurl=service_url)).status_code == 200
    posted = connector.wait_for(conversation, lambda p: bool(card_actions(p)))
    assert "Which partnership" in text_of(posted)
    actions = {a["title"]: a for a in card_actions(posted)}
    assert {"Kent and Medway", "West Midlands"} <= set(actions)
    chosen = actions["Kent and Medway"]
    assert chosen["type"] == "Action.Submit"
    assert payload_from_value(submit_value(chosen)) == '/inform_partnership{"partnership":"kent_medway"}'

    # Clicking the button: Teams sends a message activity with `value` and no text.
    click = teams_activity(
        connector, None, user=user, conversation=conversation, service_url=service_url, value=submit_value(chosen)
    )
    click["replyToId"] = posted[-1]["activity"].get("id", "card")
    before = len(posted)
    assert send(teams_stack, click, connector.sign(serviceurl=service_url)).status_code == 200
    posted = connector.wait_for(conversation, lambda p: "District Manager" in text_of(p[before:]))
    answer = text_of(posted[before:])
    assert "Kent and Medway procedure 2.4.1" in answer
    assert all(p["reply_to"] == click["id"] for p in posted[before:])


@pytest.mark.integration
def test_tokens_that_are_not_from_the_bot_framework_for_this_bot_get_401(teams_stack, connector):
    now = int(time.time())
    hs256 = jwt.encode(
        {"iss": ISSUER, "aud": APP_ID, "exp": now + 600, "serviceurl": connector.base},
        "a-guessed-shared-secret-of-32-bytes-or-more",
        algorithm="HS256",
        headers={"kid": KID},
    )
    unsigned = jwt.encode(
        {"iss": ISSUER, "aud": APP_ID, "exp": now + 600, "serviceurl": connector.base}, None, algorithm="none"
    )
    cases = {
        "wrong signature": "Bearer " + connector.sign(key=new_key()),
        "wrong audience": "Bearer " + connector.sign(aud=str(uuid.uuid4())),
        "expired": "Bearer " + connector.sign(exp=now - 3600, nbf=now - 7200, iat=now - 7200),
        "wrong issuer": "Bearer " + connector.sign(iss="https://sts.windows.net/attacker/"),
        "no expiry": "Bearer " + connector.sign(exp=None),
        "serviceurl of another connector": "Bearer " + connector.sign(serviceurl="https://smba.example.net/"),
        "no serviceurl claim": "Bearer " + connector.sign(serviceurl=None),
        "unknown key id": "Bearer " + connector.sign(kid="another-key"),
        "HS256 instead of RS256": "Bearer " + hs256,
        "unsigned (alg none)": "Bearer " + unsigned,
        "not a JWT": "Bearer not.a.jwt",
        "not Bearer": "Basic " + connector.sign(),
        "no header": None,
    }
    user, conversation = "29:1" + uuid.uuid4().hex, "a:1" + uuid.uuid4().hex
    for name, authorization in cases.items():
        activity = teams_activity(connector, "what are the MAPPA levels?", user=user, conversation=conversation)
        if authorization is None:
            response = send(teams_stack, activity)
        else:
            response = send(teams_stack, activity, authorization=authorization)
        assert response.status_code == 401, name
    assert not posted_before_a_later_message(teams_stack, connector, user, conversation), (
        "nothing may be posted for a refused activity"
    )


@pytest.mark.integration
@pytest.mark.parametrize(
    "name,body",
    [
        ("not JSON", b"{not json"),
        ("a list", b"[]"),
        ("not UTF-8", b"\xff\xfe\x00"),
        ("empty", b""),
        ("no type", json.dumps({"text": "hi"}).encode()),
        ("no serviceUrl", json.dumps({"type": "message", "text": "hi"}).encode()),
    ],
)
def test_malformed_bodies_get_400(teams_stack, connector, name, body):
    response = send(teams_stack, body=body, token=connector.sign())
    assert response.status_code == 400, name


@pytest.mark.integration
@pytest.mark.parametrize(
    "change", ["no conversation", "no sender", "text is a number", "plain http elsewhere", "not a URL"]
)
def test_activities_missing_what_a_reply_needs_get_400(teams_stack, connector, change):
    activity = teams_activity(connector, "what are the MAPPA levels?")
    token = connector.sign()
    if change == "no conversation":
        del activity["conversation"]
    elif change == "no sender":
        activity["from"] = {"name": "x"}
    elif change == "text is a number":
        activity["text"] = 5
    elif change == "plain http elsewhere":
        activity["serviceUrl"] = "http://smba.example.net/"
        token = connector.sign(serviceurl=activity["serviceUrl"])
    else:
        activity["serviceUrl"] = "smba"
        token = connector.sign(serviceurl="smba")
    assert send(teams_stack, activity, token).status_code == 400


@pytest.mark.integration
def test_another_tenant_gets_403_and_other_activity_types_are_acknowledged(teams_stack, connector):
    user, conversation = "29:1" + uuid.uuid4().hex, "a:1" + uuid.uuid4().hex
    other = teams_activity(
        connector, "what are the MAPPA levels?", user=user, conversation=conversation, tenant=str(uuid.uuid4())
    )
    assert send(teams_stack, other, connector.sign()).status_code == 403
    update = teams_activity(connector, None, user=user, conversation=conversation, kind="conversationUpdate")
    update["membersAdded"] = [{"id": "28:" + APP_ID}]
    assert send(teams_stack, update, connector.sign()).status_code == 200
    empty = teams_activity(connector, "<at>Safeguarding guidance</at> ", user=user, conversation=conversation)
    assert send(teams_stack, empty, connector.sign()).status_code == 200
    assert not posted_before_a_later_message(teams_stack, connector, user, conversation)


@pytest.mark.integration
def test_mention_is_stripped_and_token_and_keys_are_fetched_once(teams_stack, connector):
    activity = teams_activity(connector, "<at>Safeguarding guidance</at> what are the MAPPA levels?")
    activity["conversation"]["conversationType"] = "channel"
    assert send(teams_stack, activity, connector.sign()).status_code == 200
    connector.wait_for(activity["conversation"]["id"], lambda p: "Level 3" in text_of(p))
    assert connector.token_requests, "the token endpoint was never called"
    for form in connector.token_requests:
        assert form == {
            "grant_type": "client_credentials",
            "client_id": APP_ID,
            "client_secret": APP_PASSWORD,
            "scope": "https://api.botframework.com/.default",
        }
    assert len(connector.token_requests) == 1, "the token is cached until it expires"
    assert connector.requests.count("GET /keys") == 1, "keys are cached (refreshed daily or on a new key id)"


@pytest.mark.integration
def test_health_route(teams_stack):
    assert requests.get(f"{teams_stack.rasa_url}/webhooks/teams/", timeout=10).json() == {"status": "ok"}


# --- in-process: the disabled channel and the rendering ------------------------------------------------


def test_without_app_id_the_channel_contacts_nothing_and_answers_503(connector):
    before = list(connector.requests)
    channel = TeamsInput.from_credentials(
        {
            "app_id": "",
            "app_password": "",
            "tenant_id": "",
            "openid_config_url": f"{connector.base}/openid",
            "token_url": f"{connector.base}/token",
        }
    )
    assert channel.enabled is False

    async def never(message):
        raise AssertionError("a disabled channel must not hand messages to Rasa")

    body = json.dumps(teams_activity(connector, "hello")).encode()
    reply = asyncio.run(channel.handle({"Authorization": "Bearer " + connector.sign()}, body, never))
    assert reply.status == 503 and reply.body.decode() == NOT_CONFIGURED
    assert connector.requests == before


def test_app_id_without_password_is_disabled_too():
    assert TeamsInput.from_credentials({"app_id": APP_ID, "app_password": ""}).enabled is False


def test_token_url_follows_the_tenant():
    single = TeamsInput.from_credentials({"app_id": APP_ID, "app_password": "x", "tenant_id": TENANT_ID})
    assert single.token_url == f"https://login.microsoftonline.com/{TENANT_ID}/oauth2/v2.0/token"
    multi = TeamsInput.from_credentials({"app_id": APP_ID, "app_password": "x", "tenant_id": ""})
    assert multi.token_url == "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"
    assert multi.openid_config_url == "https://login.botframework.com/v1/.well-known/openidconfiguration"


def test_markdown_keeps_lines_and_italicises_citations():
    text = "Title\n\nLine one\nLine two\n- a\n- b\n\nSource: X procedure 1.2, section 3 (https://x.example/a*b)"
    assert to_teams_markdown(text) == (
        "Title\n\nLine one\n\nLine two\n\n- a\n- b\n\n*Source: X procedure 1.2, section 3 (https://x.example/a\\*b)*"
    )


def test_card_values_in_either_form_give_the_payload():
    assert payload_from_value({"payload": "/help"}) == "/help"
    assert payload_from_value('{"payload": "Yes"}') == "Yes"
    assert payload_from_value({"msteams": {"value": '{"payload": "skip"}'}}) == "skip"
    assert payload_from_value({"other": 1}) is None and payload_from_value("not json") is None


# --- a checklist's summary as an Adaptive Card ----------------------------------------------------------

# No Adaptive Card schema ships in a package this project installs (@microsoft/app-manifest has only the
# Teams manifest schemas), so this is the part of the Adaptive Card 1.2 schema (adaptivecards.io) that the
# cards use, with its enumerations, and nothing else allowed: a misspelt property or value fails.
SPACING = {"enum": ["None", "Small", "Default", "Medium", "Large", "ExtraLarge", "Padding"]}
SUBMIT = {
    "type": "object",
    "required": ["type", "title"],
    "additionalProperties": False,
    "properties": {"type": {"const": "Action.Submit"}, "title": {"type": "string", "minLength": 1}, "data": {}},
}
ELEMENT = {
    "oneOf": [
        {
            "type": "object",
            "required": ["type", "text"],
            "additionalProperties": False,
            "properties": {
                "type": {"const": "TextBlock"},
                "text": {"type": "string", "minLength": 1},
                "wrap": {"type": "boolean"},
                "size": {"enum": ["Default", "Small", "Medium", "Large", "ExtraLarge"]},
                "weight": {"enum": ["Default", "Lighter", "Bolder"]},
                "spacing": SPACING,
                "separator": {"type": "boolean"},
            },
        },
        {
            "type": "object",
            "required": ["type", "facts"],
            "additionalProperties": False,
            "properties": {
                "type": {"const": "FactSet"},
                "facts": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["title", "value"],
                        "additionalProperties": False,
                        "properties": {"title": {"type": "string"}, "value": {"type": "string"}},
                    },
                },
            },
        },
        {
            "type": "object",
            "required": ["type", "actions"],
            "additionalProperties": False,
            "properties": {"type": {"const": "ActionSet"}, "actions": {"type": "array", "items": SUBMIT}},
        },
    ]
}
CARD_SCHEMA = {
    "type": "object",
    "required": ["contentType", "content"],
    "properties": {
        "contentType": {"const": "application/vnd.microsoft.card.adaptive"},
        "content": {
            "type": "object",
            "required": ["type", "version", "body"],
            "additionalProperties": False,
            "properties": {
                "type": {"const": "AdaptiveCard"},
                "$schema": {"const": "http://adaptivecards.io/schemas/adaptive-card.json"},
                "version": {"const": "1.2"},
                "body": {"type": "array", "minItems": 1, "items": ELEMENT},
                "actions": {"type": "array", "items": SUBMIT},
            },
        },
    },
}

SUMMARY = {
    "title": "Recognition checklist",
    "checklist": "recognition",
    "version": "2026-11-27.1",
    "partnership": "west_midlands",
    "partnership_name": "West Midlands",
    "answers": [
        {"question": "First: is any child in immediate danger now?", "answer": "No"},
        {"question": "Does the person live in a household with children?", "answer": "Not known"},
    ],
    "role": "Social worker",
    "case_reference": "not given",
    "outcome": "definition_unclear",
    "outcome_summary": "It is not yet clear whether the person meets the definition.",
    "next_steps": ["Find out what is not known (West Midlands 2.14, Definition)"],
    "reference": None,
    "completed_at": None,
}
BUTTONS = [
    {"title": "Save", "payload": "/affirm"},
    {"title": "Go back", "payload": "/go_back"},
    {"title": "Stop without saving", "payload": "/stop"},
]


def card_texts(card: Dict[str, Any]) -> List[str]:
    texts = []
    for element in card["content"]["body"]:
        texts += [element["text"]] if element["type"] == "TextBlock" else []
        texts += [f"{f['title']}: {f['value']}" for f in element.get("facts", [])]
    return texts


def test_summary_card_and_choices_card_follow_the_adaptive_card_schema():
    import jsonschema

    card = summary_card(SUMMARY, BUTTONS)
    jsonschema.validate(card, CARD_SCHEMA)
    jsonschema.validate(choices_card(BUTTONS), CARD_SCHEMA)
    texts = card_texts(card)
    assert texts[0] == "Summary: Recognition checklist"
    assert "Partnership: West Midlands" in texts and "Your role: Social worker" in texts
    assert "Checklist version: 2026-11-27.1" in texts and not any(t.startswith("Reference:") for t in texts)
    question = texts.index("Does the person live in a household with children?")
    assert texts[question + 1] == "Not known", "each answer in words, under its question"
    assert "It is not yet clear whether the person meets the definition." in texts
    assert "- Find out what is not known (West Midlands 2.14, Definition)" in texts
    assert texts[-1] == "Save this to the outcome log?"
    actions = card["content"]["actions"]
    assert [a["title"] for a in actions] == ["Save", "Go back", "Stop without saving"]
    assert payload_from_value(submit_value(actions[0])) == "/affirm"

    saved = summary_card({**SUMMARY, "reference": "SGA-7K3Q-9XPD", "completed_at": "1 May 2024, 09:00 UTC"}, [])
    jsonschema.validate(saved, CARD_SCHEMA)
    assert "Reference: SGA-7K3Q-9XPD" in card_texts(saved) and "actions" not in saved["content"]
    with pytest.raises(jsonschema.ValidationError):  # the schema does refuse what Teams would not draw
        jsonschema.validate({**card, "content": {**card["content"], "body": [{"type": "TextBlock"}]}}, CARD_SCHEMA)


@pytest.mark.integration
def test_a_checklist_summary_is_an_adaptive_card_and_its_save_button_saves(teams_stack, connector):
    import jsonschema

    user, conversation = "29:1" + uuid.uuid4().hex, "a:1" + uuid.uuid4().hex

    def say(text: Optional[str] = None, value: Any = None) -> List[Dict[str, Any]]:
        before = len(connector.posted(conversation))
        activity = teams_activity(connector, text, user=user, conversation=conversation, value=value)
        assert send(teams_stack, activity, connector.sign()).status_code == 200
        return connector.wait_for(conversation, lambda p: any(r["reply_to"] == activity["id"] for r in p[before:]))[
            before:
        ]

    say('/inform_partnership{"partnership":"west_midlands"}')
    posted = say("start the recognition checklist")
    for _ in range(20):
        actions = {a["title"]: a for a in card_actions(posted)}
        if "Not known" not in actions:
            break
        posted = say(value=submit_value(actions["Not known"]))
    assert "your role" in text_of(posted)
    posted = say(value=submit_value({a["title"]: a for a in card_actions(posted)}["Skip"]))
    assert "case reference" in text_of(posted)
    posted = say("CR-2024-0193")

    cards = [a for p in posted for a in p["activity"].get("attachments") or []]
    assert len(posted) == 1 and len(cards) == 1, "the summary is one activity: one card, no separate text"
    assert posted[0]["activity"]["text"] == ""
    card = cards[0]
    jsonschema.validate(card, CARD_SCHEMA)
    texts = card_texts(card)
    assert texts[0] == "Summary: Recognition checklist"
    assert "Partnership: West Midlands" in texts and "Case reference: CR-2024-0193" in texts
    assert "Your role: not given" in texts and texts.count("Not known") >= 5
    assert any(t.startswith("- ") and "West Midlands 2.14" in t for t in texts), "next steps with their sources"
    save = {a["title"]: a for a in card["content"]["actions"]}["Save"]
    posted = say(value=submit_value(save))
    saved = text_of(posted)
    assert "Your reference is SGA-" in saved
    assert not [a for p in posted for a in p["activity"].get("attachments") or []], "saved: text, no card"
    assert all(set(p["activity"]) >= {"type", "text"} and "summary" not in p["activity"] for p in posted)
