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
    TEAMS_ACCENT_COLOR        background colour of the icon, #RRGGBB

The manifest is checked against the required fields of the Teams manifest schema (v1.16) before
anything is written; the icons are drawn here (PNG written with zlib/struct, no image library).
Exit status 2 means a setting is missing or invalid, and the message says which.
"""
from __future__ import annotations

import io
import json
import os
import re
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Tuple

from sga.settings import PROJECT_ROOT, load_settings

MANIFEST_VERSION = "1.16"
MANIFEST_SCHEMA = ("https://developer.microsoft.com/en-us/json-schemas/teams/v1.16/"
                   "MicrosoftTeams.schema.json")
DEFAULT_OUTPUT = PROJECT_ROOT / "build" / "teams" / "sga-teams-app.zip"
BOT_SCOPES = ["personal", "team", "groupchat"]
COLOR_SIZE, OUTLINE_SIZE = 192, 32

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

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "PackageConfig":
        def get(name: str, default: str = "") -> str:
            return (env.get(name) or "").strip() or default

        app_id = get("TEAMS_APP_ID")
        if not app_id:
            raise PackageError("TEAMS_APP_ID is not set: put the Azure Bot's Microsoft App ID (a GUID) in .env")
        if not GUID.match(app_id):
            raise PackageError(f"TEAMS_APP_ID {app_id!r} is not a GUID (expected "
                               "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, the Azure Bot's Microsoft App ID)")
        required = {name: get(name) for name in
                    ("TEAMS_DEVELOPER_NAME", "TEAMS_DEVELOPER_URL", "TEAMS_PRIVACY_URL", "TEAMS_TERMS_URL")}
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise PackageError("missing in .env: " + ", ".join(missing) + " (see docs/teams.md)")
        domains = [d.strip() for d in get("TEAMS_VALID_DOMAINS").split(",") if d.strip()]
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
        "bots": [{
            "botId": config.app_id,
            "scopes": list(BOT_SCOPES),
            "supportsFiles": False,
            "isNotificationOnly": False,
            "commandLists": [{
                "scopes": list(BOT_SCOPES),
                "commands": [{"title": t, "description": d} for t, d in COMMANDS],
            }],
        }],
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
        if not isinstance(scopes, list) or not scopes or not set(scopes) <= set(BOT_SCOPES):
            errors.append(f"bots[0].scopes must be a non-empty subset of {BOT_SCOPES}")
    domains = manifest.get("validDomains")
    if not isinstance(domains, list):
        errors.append("validDomains must be a list (it may be empty)")
    else:
        for domain in domains:
            if not isinstance(domain, str) or not DOMAIN.match(domain):
                errors.append(f"validDomains entry {domain!r} must be a host name, without https:// or a path")
    return errors


# --- icons ------------------------------------------------------------------------------------------

Pixel = Tuple[int, int, int, int]


def png_bytes(width: int, height: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    """An 8-bit RGBA PNG, written with zlib and struct."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # filter type 0 (None)
        for x in range(width):
            row.extend(pixel(x, y))
        rows.append(bytes(row))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


def png_size(data: bytes) -> Tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])


def _in_shield(u: float, v: float, box: Tuple[float, float, float, float], inset: float = 0.0) -> bool:
    """A shield: straight sides, then an elliptical bottom to a point, in a box of unit coordinates."""
    x0, y0, x1, y1 = box
    left, right, top, bottom = x0 + inset, x1 - inset, y0 + inset, y1 - inset * 1.4
    middle = y0 + (y1 - y0) * 0.45
    if not (left <= u <= right and top <= v <= bottom):
        return False
    if v <= middle:
        return True
    half = (right - left) / 2
    depth = (v - middle) / (bottom - middle)
    return abs(u - (left + right) / 2) <= half * max(0.0, 1 - depth * depth) ** 0.5


def _near_segment(u: float, v: float, a: Tuple[float, float], b: Tuple[float, float], width: float) -> bool:
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((u - ax) * dx + (v - ay) * dy) / (dx * dx + dy * dy)))
    return (u - ax - t * dx) ** 2 + (v - ay - t * dy) ** 2 <= width * width


def _coverage(size: int, x: int, y: int, inside: Callable[[float, float], bool], samples: int = 4) -> float:
    hits = 0
    for i in range(samples):
        for j in range(samples):
            if inside((x + (i + 0.5) / samples) / size, (y + (j + 0.5) / samples) / size):
                hits += 1
    return hits / (samples * samples)


def color_icon(accent: str) -> bytes:
    """192x192: a white shield with a tick, on the accent colour (full bleed, as Teams expects)."""
    r, g, b = (int(accent[i:i + 2], 16) for i in (1, 3, 5))
    box = (0.27, 0.22, 0.73, 0.80)
    tick = ((0.40, 0.50), (0.48, 0.59), (0.61, 0.40))

    def white(u: float, v: float) -> bool:
        on_tick = _near_segment(u, v, tick[0], tick[1], 0.028) or _near_segment(u, v, tick[1], tick[2], 0.028)
        return _in_shield(u, v, box) and not on_tick

    def pixel(x: int, y: int) -> Pixel:
        c = _coverage(COLOR_SIZE, x, y, white)
        return (round(r + (255 - r) * c), round(g + (255 - g) * c), round(b + (255 - b) * c), 255)

    return png_bytes(COLOR_SIZE, COLOR_SIZE, pixel)


def outline_icon() -> bytes:
    """32x32: the shield's outline in white on a transparent background (Teams' rule for outlines)."""
    box = (0.16, 0.09, 0.84, 0.94)

    def outline(u: float, v: float) -> bool:
        return _in_shield(u, v, box) and not _in_shield(u, v, box, inset=2.2 / OUTLINE_SIZE)

    def pixel(x: int, y: int) -> Pixel:
        return (255, 255, 255, round(255 * _coverage(OUTLINE_SIZE, x, y, outline)))

    return png_bytes(OUTLINE_SIZE, OUTLINE_SIZE, pixel)


# --- package ----------------------------------------------------------------------------------------

def build_package(config: PackageConfig) -> bytes:
    manifest = build_manifest(config)
    errors = validate_manifest(manifest)
    if errors:
        raise PackageError("the manifest would not be valid:\n  " + "\n  ".join(errors))
    color, outline = color_icon(manifest["accentColor"]), outline_icon()
    assert png_size(color) == (COLOR_SIZE, COLOR_SIZE) and png_size(outline) == (OUTLINE_SIZE, OUTLINE_SIZE)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        # Files at the root of the zip, no folder: Teams rejects a package with a folder inside.
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        archive.writestr("color.png", color)
        archive.writestr("outline.png", outline)
    return buffer.getvalue()


def package_command(args) -> int:
    load_settings(Path(args.env_file) if args.env_file else None)  # loads .env without overriding the environment
    try:
        config = PackageConfig.from_env(os.environ)
        data = build_package(config)
    except PackageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    print(f"Wrote {output} (Teams app {config.bot_name!r} {config.version}, bot {config.app_id}).\n"
          "Upload it in Teams: Apps > Manage your apps > Upload an app > Upload a custom app "
          "(custom app upload must be allowed for you; see docs/teams.md).")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("teams-package", help="Write the Microsoft Teams app package (zip) for sideloading.")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help=f"zip to write (default: {DEFAULT_OUTPUT})")
    parser.add_argument("--env-file", default=None, help="settings file to read (default: the project's .env)")
    parser.set_defaults(handler=package_command)
