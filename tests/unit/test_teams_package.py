"""`sga teams-package`: a valid Teams app package from .env, and clear errors (exit 2) otherwise.

The manifest is also validated against Microsoft's own JSON schema for its version, as shipped in the
npm package @microsoft/app-manifest (a devDependency in web/package.json; `make web` installs it).
"""

import argparse
import io
import json
import os
import zipfile

import jsonschema
import pytest
from PIL import Image

from sga.settings import PROJECT_ROOT
from sga_tools import teams_package
from sga_tools.teams_package import MANIFEST_VERSION, PackageConfig, build_manifest, validate_manifest

SCHEMAS = PROJECT_ROOT / "web" / "node_modules" / "@microsoft" / "app-manifest" / "build" / "json-schemas" / "teams"

APP_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
GOOD_ENV = {
    "TEAMS_APP_ID": APP_ID,
    "TEAMS_DEVELOPER_NAME": "Example Safeguarding Partnership",
    "TEAMS_DEVELOPER_URL": "https://safeguarding.example.org",
    "TEAMS_PRIVACY_URL": "https://safeguarding.example.org/privacy",
    "TEAMS_TERMS_URL": "https://safeguarding.example.org/terms",
    "TEAMS_BOT_NAME": "Safeguarding guidance",
    "TEAMS_VALID_DOMAINS": "sga.example.org, tunnel.example.net",
}


def run(tmp_path, monkeypatch, env, output=None):
    """Run the sub-command as `sga teams-package` would, with only `env` written to a .env file."""
    # Set then delete, so that what .env puts in os.environ is removed again after the test.
    for name in {n for n in os.environ if n.startswith("TEAMS_")} | set(env) | {"TEAMS_ALLOW_TEAM_SCOPE"}:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    parser = argparse.ArgumentParser(prog="sga")
    subparsers = parser.add_subparsers(dest="command", required=True)
    teams_package.register(subparsers)
    output = output or tmp_path / "out" / "teams.zip"
    args = parser.parse_args(["teams-package", "--output", str(output), "--env-file", str(env_file)])
    return args.handler(args), output


def microsoft_schema(version):
    path = SCHEMAS / f"v{version}" / "MicrosoftTeams.schema.json"
    if not SCHEMAS.is_dir():
        pytest.skip("Microsoft's manifest schemas are not installed: run `make web` (npm ci in web/)")
    assert path.is_file(), f"@microsoft/app-manifest ships no schema for manifest version {version}"
    return json.loads(path.read_text(encoding="utf-8"))


def schema_errors(manifest):
    schema = microsoft_schema(manifest["manifestVersion"])
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(manifest))


def test_package_has_a_valid_manifest_and_icons(tmp_path, monkeypatch, capsys):
    code, output = run(tmp_path, monkeypatch, GOOD_ENV)
    assert code == 0, capsys.readouterr().err
    with zipfile.ZipFile(output) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        color = Image.open(io.BytesIO(archive.read("color.png")))
        outline = Image.open(io.BytesIO(archive.read("outline.png")))

    assert validate_manifest(manifest) == []
    assert schema_errors(manifest) == []
    assert manifest["manifestVersion"] == MANIFEST_VERSION
    assert f"/v{MANIFEST_VERSION}/" in manifest["$schema"]
    assert manifest["version"] == "1.0.0"
    assert manifest["id"] == APP_ID
    assert set(manifest["developer"]) >= {"name", "websiteUrl", "privacyUrl", "termsOfUseUrl"}
    assert manifest["developer"]["privacyUrl"] == GOOD_ENV["TEAMS_PRIVACY_URL"]
    assert manifest["name"]["short"] == "Safeguarding guidance" and len(manifest["name"]["short"]) <= 30
    assert manifest["name"]["full"]
    assert 0 < len(manifest["description"]["short"]) <= 80
    assert 0 < len(manifest["description"]["full"]) <= 4000
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert manifest["accentColor"].startswith("#") and len(manifest["accentColor"]) == 7
    assert manifest["bots"][0]["botId"] == APP_ID
    assert manifest["bots"][0]["scopes"] == ["personal"], "personal chats only by default"
    assert manifest["bots"][0]["commandLists"][0]["scopes"] == ["personal"]
    assert manifest["validDomains"] == ["sga.example.org", "tunnel.example.net"]

    assert color.size == (192, 192) and outline.size == (32, 32)
    assert outline.mode == "RGBA"
    pixels = [outline.getpixel((x, y)) for x in range(32) for y in range(32)]
    assert all(a == 0 or (r, g, b) == (255, 255, 255) for r, g, b, a in pixels), "outline must be white only"
    assert any(a == 0 for *_, a in pixels), "outline background must be transparent"
    assert any(a == 255 for *_, a in pixels), "outline must draw something"
    assert color.convert("RGBA").getpixel((0, 0))[3] == 255, "colour icon is opaque"
    with zipfile.ZipFile(output) as archive:
        for name in ("color.png", "outline.png"):
            assert archive.read(name) == (teams_package.ICONS_DIR / name).read_bytes(), "the committed icon"


def test_team_and_group_chat_scopes_only_when_allowed_with_a_warning(tmp_path, monkeypatch, capsys):
    code, output = run(tmp_path, monkeypatch, {**GOOD_ENV, "TEAMS_ALLOW_TEAM_SCOPE": "true"})
    err = capsys.readouterr().err
    assert code == 0, err
    assert "warning" in err and "every member" in err
    with zipfile.ZipFile(output) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["bots"][0]["scopes"] == ["personal", "team", "groupChat"]
    assert validate_manifest(manifest) == [] and schema_errors(manifest) == []

    code, output = run(tmp_path, monkeypatch, {**GOOD_ENV, "TEAMS_ALLOW_TEAM_SCOPE": "sometimes"})
    assert code == 2 and "TEAMS_ALLOW_TEAM_SCOPE" in capsys.readouterr().err


def test_microsoft_schema_refuses_what_teams_would_refuse():
    manifest = build_manifest(PackageConfig.from_env(GOOD_ENV))
    assert any(
        "scopes" in e
        for e in schema_errors({**manifest, "bots": [{**manifest["bots"][0], "scopes": ["personal", "everyone"]}]})
    )
    assert any(
        "accentColor" in e or "required" in e
        for e in schema_errors({k: v for k, v in manifest.items() if k != "accentColor"})
    )
    assert schema_errors({**manifest, "unknownField": 1})


@pytest.mark.parametrize("trailing_slash", [False, True])
def test_output_directory_gets_the_zip_inside(tmp_path, monkeypatch, capsys, trailing_slash):
    folder = tmp_path / "packages"
    if not trailing_slash:
        folder.mkdir()
    code, _ = run(tmp_path, monkeypatch, GOOD_ENV, output=str(folder) + ("/" if trailing_slash else ""))
    assert code == 0, capsys.readouterr().err
    with zipfile.ZipFile(folder / "sga-teams-app.zip") as archive:
        assert "manifest.json" in archive.namelist()


def test_unwritable_output_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, _ = run(tmp_path, monkeypatch, GOOD_ENV, output=blocker / "teams.zip")
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: could not write") and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("app_id", [None, "", "not-a-guid", "0f8fad5b-d9cb-469f-a165-70867728950", "{%s}" % APP_ID])
def test_missing_or_invalid_app_id_exits_2(tmp_path, monkeypatch, capsys, app_id):
    env = {k: v for k, v in GOOD_ENV.items() if k != "TEAMS_APP_ID"}
    if app_id is not None:
        env["TEAMS_APP_ID"] = app_id
    code, output = run(tmp_path, monkeypatch, env)
    assert code == 2
    assert "TEAMS_APP_ID" in capsys.readouterr().err
    assert not output.exists()


def test_missing_developer_settings_are_named(tmp_path, monkeypatch, capsys):
    env = {k: v for k, v in GOOD_ENV.items() if k not in ("TEAMS_PRIVACY_URL", "TEAMS_TERMS_URL")}
    code, _ = run(tmp_path, monkeypatch, env)
    err = capsys.readouterr().err
    assert code == 2 and "TEAMS_PRIVACY_URL" in err and "TEAMS_TERMS_URL" in err


@pytest.mark.parametrize(
    "name,value,problem",
    [
        ("TEAMS_BOT_NAME", "A bot name that is far too long for Teams", "name.short"),
        ("TEAMS_PRIVACY_URL", "http://insecure.example.org/privacy", "developer.privacyUrl"),
        ("TEAMS_VALID_DOMAINS", "https://sga.example.org/path", "validDomains"),
        ("TEAMS_APP_VERSION", "1.0", "version"),
        ("TEAMS_ACCENT_COLOR", "blue", "accentColor"),
    ],
)
def test_invalid_settings_are_refused_with_the_field(tmp_path, monkeypatch, capsys, name, value, problem):
    code, output = run(tmp_path, monkeypatch, {**GOOD_ENV, name: value})
    assert code == 2
    assert problem in capsys.readouterr().err
    assert not output.exists()


def test_validator_catches_missing_required_fields():
    manifest = build_manifest(PackageConfig.from_env(GOOD_ENV))
    for key in (
        "manifestVersion",
        "version",
        "id",
        "developer",
        "name",
        "description",
        "icons",
        "accentColor",
        "bots",
        "validDomains",
    ):
        broken = {k: v for k, v in manifest.items() if k != key}
        assert validate_manifest(broken), f"{key} missing was not caught"
    assert validate_manifest({**manifest, "manifestVersion": "1.5"})
    assert validate_manifest({**manifest, "description": {"short": "x" * 81, "full": "y"}})
    assert validate_manifest({**manifest, "bots": [{"botId": APP_ID, "scopes": ["everyone"]}]})
