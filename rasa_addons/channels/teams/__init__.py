"""Microsoft Teams channel (Azure Bot Service / Bot Framework) for Rasa 3.6: `TeamsInput`.

bot/credentials.yml names `rasa_addons.channels.teams.TeamsInput`. See docs/teams.md.

Rasa's own `botframework` channel cannot be used as it is (see docs/teams.md and
../shared/rasa-notes.md): it fetches Microsoft's signing keys over the network when Rasa starts; it
checks a token's signature, audience and expiry but not its issuer or its `serviceurl` claim; it
always asks the shared `botframework.com` tenant for tokens (single-tenant bots get AADSTS700016); it
posts replies with blocking `requests` and no timeout inside the event loop; Rasa buttons reach Teams
as a hero card of buttons without an action type, which Teams does not make clickable; and a card
submit (an activity with `value` and no text) reaches Rasa as an empty message. So this channel keeps
the Bot Framework protocol and subclasses Rasa's `InputChannel`/`OutputChannel` directly:

  render     Teams markdown, Adaptive Cards, card submits (pure functions)
  activity   parsing and checking an incoming activity (pure functions; 400 when unusable)
  auth       JWT/JWKS validation of incoming requests (401/503), tenant check (403)
  connector  OAuth token client and posting replies to the connector, with timeouts
  channel    the webhook (`TeamsInput`) and the replies to one activity (`TeamsOutput`)
"""

from rasa_addons.channels.teams.channel import MAX_BODY_BYTES, NOT_CONFIGURED, TeamsInput, TeamsOutput
from rasa_addons.channels.teams.render import choices_card, payload_from_value, to_teams_markdown

__all__ = [
    "MAX_BODY_BYTES",
    "NOT_CONFIGURED",
    "TeamsInput",
    "TeamsOutput",
    "choices_card",
    "payload_from_value",
    "to_teams_markdown",
]
