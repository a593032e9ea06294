"""Project input channels for Rasa (referenced by class path in bot/credentials.yml).

- `rasa_addons.channels.teams.TeamsInput`: Microsoft Teams through the Bot Framework (docs/teams.md).
- `sga_tools.teams_package`: `sga teams-package`, the Teams app package for sideloading.
"""
