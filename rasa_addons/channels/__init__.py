"""Project input channels for Rasa (referenced by class path in bot/credentials.yml): REST with
request checks, socket.io for the web widget, and Microsoft Teams (docs/teams.md)."""
