"""Settings, read from the environment and `.env` (python-dotenv).

Every value has a safe local default, so the assistant runs without a `.env`; `.env.example`
documents each one. Only this module reads the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Dict

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _field(name: str, default: str) -> str:
    return field(default_factory=lambda: _env(name, default), metadata={"env": name})


@dataclass(frozen=True)
class Settings:
    # Outcome log (the audit trail of completed checklists).
    database_url: str = _field("DATABASE_URL", f"sqlite:///{VAR_DIR / 'outcomes.db'}")
    spool_dir: str = _field("OUTCOME_SPOOL_DIR", str(VAR_DIR / "spool"))
    conversation_salt: str = _field("CONVERSATION_HASH_SALT", "local-development-salt")
    # The shape of your case system's pseudonymous references (a regular expression, upper case).
    case_reference_pattern: str = _field("CASE_REFERENCE_PATTERN", r"^[A-Z]{1,4}[-/]?\d{2,8}(?:[-/]\d{1,6})?$")
    # Action server.
    action_server_host: str = _field("ACTION_SERVER_HOST", "127.0.0.1")
    action_server_port: str = _field("ACTION_SERVER_PORT", "5055")
    action_server_token: str = _field("ACTION_SERVER_TOKEN", "")
    # How long the Rasa server waits for one action-server call before telling the user (Rasa's own
    # constant is 5 minutes, which looks like a hang).
    action_timeout_seconds: str = _field("ACTION_TIMEOUT_SECONDS", "10")
    # Rasa server.
    rasa_host: str = _field("RASA_HOST", "127.0.0.1")
    rasa_port: str = _field("RASA_PORT", "5005")
    rasa_auth_token: str = _field("RASA_AUTH_TOKEN", "")
    # Origins allowed to use the socket.io channel, space-separated: the widget's page.
    rasa_cors: str = _field("RASA_CORS_ORIGINS", "http://localhost:8080 http://127.0.0.1:8080")
    rasa_endpoints: str = _field("RASA_ENDPOINTS", "bot/endpoints.yml")
    tracker_store_url: str = _field("TRACKER_STORE_URL", f"sqlite:///{VAR_DIR / 'tracker.db'}")
    redis_host: str = _field("REDIS_HOST", "127.0.0.1")
    redis_port: str = _field("REDIS_PORT", "6379")
    redis_db: str = _field("REDIS_DB", "0")
    redis_key_prefix: str = _field("REDIS_KEY_PREFIX", "sga")
    log_level: str = _field("LOG_LEVEL", "INFO")
    # Rate limits on chat messages, "N/S" = at most N messages in S seconds ("0/60" = off).
    rate_limit_per_sender: str = _field("RATE_LIMIT_PER_SENDER", "60/60")
    rate_limit_per_address: str = _field("RATE_LIMIT_PER_ADDRESS", "600/60")
    # Saves to the outcome log per conversation (N/S, 0/S off): checked by the action server.
    rate_limit_saves: str = _field("RATE_LIMIT_SAVES", "10/3600")
    # The web chat page (`make run` serves it).
    webchat_host: str = _field("WEBCHAT_HOST", "127.0.0.1")
    webchat_port: str = _field("WEBCHAT_PORT", "8080")
    # Microsoft Teams (bot/credentials.yml; empty app id = channel off). See docs/teams.md.
    teams_app_id: str = _field("TEAMS_APP_ID", "")
    teams_app_password: str = _field("TEAMS_APP_PASSWORD", "")
    teams_tenant_id: str = _field("TEAMS_TENANT_ID", "")
    teams_openid_config_url: str = _field("TEAMS_OPENID_CONFIG_URL", "")
    teams_token_url: str = _field("TEAMS_TOKEN_URL", "")
    # `sga teams-package`: "true" lets the bot be added to team channels and group chats as well as
    # personal chats (every member of a channel or group chat sees its answers). Default off.
    teams_allow_team_scope: str = _field("TEAMS_ALLOW_TEAM_SCOPE", "false")

    def environment(self) -> Dict[str, str]:
        """Every setting as its environment variable: what the servers started by `sga run` get, and
        what bot/endpoints*.yml and bot/credentials.yml refer to as ${VAR}."""
        return {f.metadata["env"]: str(getattr(self, f.name)) for f in fields(self)}


def load_settings(env_file: Path | None = None) -> Settings:
    """Load `.env` (without overriding variables already set) and return the settings."""
    load_dotenv(env_file or PROJECT_ROOT / ".env", override=False)
    return Settings()
