"""Code the Rasa server process loads: input channels (bot/credentials.yml) and NLU components
(bot/config.yml). It may use the engines in `sga`, never the action server's `actions`."""

from rasa_addons import patches, speedups

patches.apply()
speedups.apply()
