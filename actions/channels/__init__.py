"""Project input channels for Rasa (referenced by class path in bot/credentials.yml).

- `actions.channels.teams.TeamsInput`: Microsoft Teams through the Bot Framework (docs/teams.md).
- `actions.channels.teams_package`: `sga teams-package`, the Teams app package for sideloading.
"""
