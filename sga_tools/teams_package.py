"""`sga teams-package`: the Microsoft Teams app package (manifest.json + two icons) for sideloading.

The package is built from `.env` (see docs/teams.md):

    TEAMS_APP_ID              the Azure Bot's Microsoft App ID (a GUID); required
    TEAMS_DEVELOPER_NAME      who publishes the app (your organisation); required
    TEAMS_DEVELOPER_URL       https URL of the publisher's website; required
    TEAMS_PRIVACY_URL         https URL of the privacy notice; required
    TEAMS_TERMS_URL           https URL of the terms of use; required
    TEAMS_BOT_NAME            short name shown in Teams (<= 30 characters)
    TEAMS_BOT_FULL_NAME       full name (<= 100 characters)
    TEAMS_VALID_DOMAINS       comma-separated host names the app may open (may be empty)
    TEAMS_APP_VERSION         package version, x.y.z (raise it for every upload)
    TEAMS_ACCENT_COLOR        the app's accent colour in Teams, #RRGGBB
    TEAMS_ALLOW_TEAM_SCOPE    true: the bot may also be added to team channels and group chats,
                              where every member sees its answers (default false: personal chats)

The manifest (schema MANIFEST_VERSION) is checked against its required fields and limits before
anything is written; tests/unit/test_teams_package.py also validates it against Microsoft's own JSON
schema (npm package @microsoft/app-manifest, installed in web/). The icons are the committed PNG files
in sga_tools/assets/teams/ (color 192x192, outline 32x32 white on transparent): replace them to
rebrand, at the same sizes. Exit status 2 means a setting is missing or invalid, and the message
says which; 1 that the package could not be written.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

from sga.settings import PROJECT_ROOT, load_settings

MANIFEST_VERSION = "1.30"
MANIFEST_SCHEMA = (
    f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
)
PACKAGE_NAME = "sga-teams-app.zip"
DEFAULT_OUTPUT = PROJECT_ROOT / "build" / "teams" / PACKAGE_NAME
PERSONAL_SCOPES = ["personal"]
SHARED_SCOPES = ["team", "groupChat"]  # a channel's or group chat's members all see the answers
ICONS_DIR = Path(__file__).resolve().parent / "assets" / "teams"
COLOR_SIZE, OUTLINE_SIZE = 192, 32
TRUE, FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DOMAIN = re.compile(r"^(\*\.)?([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}(:\d{1,5})?$")
HTTPS_URL = re.compile(r"^https://[^\s/$.?#][^\s]*$")

SHORT_DESCRIPTION = "Safeguarding procedure answers with citations, and guided checklists."
FULL_DESCRIPTION = (
    "For child-safeguarding practitioners working with people who may pose a risk to children. "
    "Ask questions about the Kent and Medway (2.4.1) and West Midlands (2.14) procedures, MAPPA, "
    "Sarah's Law and Clare's Law: every answer cites its procedure and section. Work through the "
    "recognition, risk assessment and disclosure checklists and record their outcome in an "
    "auditable log. This is guidance from local procedures, not legal advice. If a child is in "
    "immediate danger, call 999."
)
COMMANDS = [
    ("help", "What I can do"),
    ("What are the MAPPA levels?", "The three MAPPA management levels"),
    ("Start a checklist", "Recognition, risk assessment or disclosure checklist"),
]


class PackageError(ValueError):
    """A setting is missing or the manifest would not be valid."""


@dataclass(frozen=True)
class PackageConfig:
    app_id: str
    developer_name: str
    developer_url: str
    privacy_url: str
    terms_url: str
    bot_name: str = "Safeguarding guidance"
    bot_full_name: str = "Safeguarding guidance assistant"
    valid_domains: List[str] = field(default_factory=list)
    version: str = "1.0.0"
    accent_color: str = "#1F4E79"
    allow_team_scope: bool = False

    @property
    def scopes(self) -> List[str]:
        return PERSONAL_SCOPES + (SHARED_SCOPES if self.allow_team_scope else [])

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "PackageConfig":
        def get(name: str, default: str = "") -> str:
            return (env.get(name) or "").strip() or default

        app_id = get("TEAMS_APP_ID")
        if not app_id:
            raise PackageError("TEAMS_APP_ID is not set: put the Azure Bot's Microsoft App ID (a GUID) in .env")
        if not GUID.match(app_id):
            raise PackageError(
                f"TEAMS_APP_ID {app_id!r} is not a GUID (expected "
                "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, the Azure Bot's Microsoft App ID)"
            )
        required = {
            name: get(name)
            for name in ("TEAMS_DEVELOPER_NAME", "TEAMS_DEVELOPER_URL", "TEAMS_PRIVACY_URL", "TEAMS_TERMS_URL")
        }
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise PackageError("missing in .env: " + ", ".join(missing) + " (see docs/teams.md)")
        domains = [d.strip() for d in get("TEAMS_VALID_DOMAINS").split(",") if d.strip()]
        team_scope = get("TEAMS_ALLOW_TEAM_SCOPE").lower()
        if team_scope not in TRUE | FALSE:
            raise PackageError(f"TEAMS_ALLOW_TEAM_SCOPE {team_scope!r} must be true or false")
        return cls(
            app_id=app_id.lower(),
            developer_name=required["TEAMS_DEVELOPER_NAME"],
            developer_url=required["TEAMS_DEVELOPER_URL"],
            privacy_url=required["TEAMS_PRIVACY_URL"],
            terms_url=required["TEAMS_TERMS_URL"],
            bot_name=get("TEAMS_BOT_NAME", cls.bot_name),
            bot_full_name=get("TEAMS_BOT_FULL_NAME", cls.bot_full_name),
            valid_domains=domains,
            version=get("TEAMS_APP_VERSION", cls.version),
            accent_color=get("TEAMS_ACCENT_COLOR", cls.accent_color),
            allow_team_scope=team_scope in TRUE,
        )


# --- manifest ---------------------------------------------------------------------------------------


def build_manifest(config: PackageConfig) -> Dict[str, Any]:
    return {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": config.version,
        "id": config.app_id,
        "developer": {
            "name": config.developer_name,
            "websiteUrl": config.developer_url,
            "privacyUrl": config.privacy_url,
            "termsOfUseUrl": config.terms_url,
        },
        "name": {"short": config.bot_name, "full": config.bot_full_name},
        "description": {"short": SHORT_DESCRIPTION, "full": FULL_DESCRIPTION},
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": config.accent_color.upper(),
        "bots": [
            {
                "botId": config.app_id,
                "scopes": config.scopes,
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": config.scopes,
                        "commands": [{"title": t, "description": d} for t, d in COMMANDS],
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": list(config.valid_domains),
    }


def _version_at_least(version: Any, minimum: str) -> bool:
    try:
        return tuple(int(p) for p in str(version).split(".")) >= tuple(int(p) for p in minimum.split("."))
    except ValueError:
        return False


def validate_manifest(manifest: Mapping[str, Any]) -> List[str]:
    """Problems with the schema's required fields and limits (empty when the manifest is valid)."""
    errors: List[str] = []

    def text(path: str, value: Any, limit: int) -> None:
        if not isinstance(value, str) or not value.strip():
            errors.append(f"{path} is required")
        elif len(value) > limit:
            errors.append(f"{path} is {len(value)} characters; the limit is {limit}")

    def url(path: str, value: Any) -> None:
        if not isinstance(value, str) or not HTTPS_URL.match(value) or len(value) > 2048:
            errors.append(f"{path} must be an https:// URL (got {value!r})")

    if not _version_at_least(manifest.get("manifestVersion"), MANIFEST_VERSION):
        errors.append(f"manifestVersion must be {MANIFEST_VERSION} or later")
    if not isinstance(manifest.get("version"), str) or not SEMVER.match(manifest["version"]):
        errors.append(f"version must be x.y.z (got {manifest.get('version')!r})")
    if not isinstance(manifest.get("id"), str) or not GUID.match(manifest["id"]):
        errors.append("id must be a GUID")
    developer = manifest.get("developer") if isinstance(manifest.get("developer"), Mapping) else {}
    text("developer.name", developer.get("name"), 32)
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        url(f"developer.{key}", developer.get(key))
    name = manifest.get("name") if isinstance(manifest.get("name"), Mapping) else {}
    text("name.short", name.get("short"), 30)
    text("name.full", name.get("full"), 100)
    description = manifest.get("description") if isinstance(manifest.get("description"), Mapping) else {}
    text("description.short", description.get("short"), 80)
    text("description.full", description.get("full"), 4000)
    icons = manifest.get("icons") if isinstance(manifest.get("icons"), Mapping) else {}
    for key in ("color", "outline"):
        text(f"icons.{key}", icons.get(key), 2048)
    if not isinstance(manifest.get("accentColor"), str) or not HEX_COLOR.match(manifest["accentColor"]):
        errors.append(f"accentColor must be #RRGGBB (got {manifest.get('accentColor')!r})")
    bots = manifest.get("bots")
    if not isinstance(bots, list) or len(bots) != 1 or not isinstance(bots[0], Mapping):
        errors.append("bots must hold exactly one bot")
    else:
        bot = bots[0]
        if not isinstance(bot.get("botId"), str) or not GUID.match(bot["botId"]):
            errors.append("bots[0].botId must be a GUID")
        scopes = bot.get("scopes")
        allowed = PERSONAL_SCOPES + SHARED_SCOPES
        if not isinstance(scopes, list) or not scopes or not set(scopes) <= set(allowed):
            errors.append(f"bots[0].scopes must be a non-empty subset of {allowed}")
    domains = manifest.get("validDomains")
    if not isinstance(domains, list):
        errors.append("validDomains must be a list (it may be empty)")
    else:
        for domain in domains:
            if not isinstance(domain, str) or not DOMAIN.match(domain):
                errors.append(f"validDomains entry {domain!r} must be a host name, without https:// or a path")
    return errors


# --- icons ------------------------------------------------------------------------------------------


def png_size(data: bytes) -> Tuple[int, int]:
    """Width and height from a PNG's header (a cheap check that a file is the PNG Teams expects)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def load_icons(folder: Path = ICONS_DIR) -> Dict[str, bytes]:
    """The committed icons, checked for the sizes Teams requires (color 192x192, outline 32x32)."""
    icons = {}
    for name, size in (("color.png", COLOR_SIZE), ("outline.png", OUTLINE_SIZE)):
        path = folder / name
        try:
            data = path.read_bytes()
            found = png_size(data)
        except (OSError, ValueError) as error:
            raise PackageError(f"icon {path} is missing or not a PNG ({error})") from None
        if found != (size, size):
            raise PackageError(f"icon {path} is {found[0]}x{found[1]}; Teams needs {size}x{size}")
        icons[name] = data
    return icons


# --- package ----------------------------------------------------------------------------------------


def build_package(config: PackageConfig) -> bytes:
    manifest = build_manifest(config)
    errors = validate_manifest(manifest)
    if errors:
        raise PackageError("the manifest would not be valid:\n  " + "\n  ".join(errors))
    icons = load_icons()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        # Files at the root of the zip, no folder: Teams rejects a package with a folder inside.
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for name in (manifest["icons"]["color"], manifest["icons"]["outline"]):
            archive.writestr(name, icons[name])
    return buffer.getvalue()


def output_path(output: str) -> Path:
    """The zip to write: `output`, or `sga-teams-app.zip` inside it when it is (or names) a directory."""
    path = Path(output).expanduser()
    if path.is_dir() or output.endswith(("/", os.sep)):
        return path / PACKAGE_NAME
    return path


def package_command(args) -> int:
    if args.env_file and not Path(args.env_file).is_file():
        print(f"error: settings file {args.env_file} not found", file=sys.stderr)
        return 2
    settings = load_settings(Path(args.env_file) if args.env_file else None)  # .env does not override the environment
    try:
        config = PackageConfig.from_env({**os.environ, "TEAMS_ALLOW_TEAM_SCOPE": settings.teams_allow_team_scope})
        data = build_package(config)
    except PackageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    output = output_path(args.output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(data)
    except OSError as error:
        print(f"error: could not write {output}: {error.strerror or error}", file=sys.stderr)
        return 1
    if config.allow_team_scope:
        print(
            "warning: TEAMS_ALLOW_TEAM_SCOPE is on: in a team channel or group chat every member sees the "
            "bot's answers, including checklist answers (see docs/teams.md).",
            file=sys.stderr,
        )
    print(
        f"Wrote {output} (Teams app {config.bot_name!r} {config.version}, bot {config.app_id}, "
        f"scopes {', '.join(config.scopes)}).\n"
        "Upload it in Teams: Apps > Manage your apps > Upload an app > Upload a custom app "
        "(custom app upload must be allowed for you; see docs/teams.md)."
    )
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("teams-package", help="Write the Microsoft Teams app package (zip) for sideloading.")
    parser.add_argument(
        "--output",
        default=str(DEFAULT_OUTPUT),
        help=f"zip to write, or a directory to write {PACKAGE_NAME} into (default: {DEFAULT_OUTPUT})",
    )
    parser.add_argument("--env-file", default=None, help="settings file to read (default: the project's .env)")
    parser.set_defaults(handler=package_command)
