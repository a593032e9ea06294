"""`sga teams-package`: a valid Teams app package from .env, and clear errors (exit 2) otherwise."""
import argparse
import io
import json
import os
import zipfile

import pytest
from PIL import Image

from rasa_addons.channels import teams_package
from sga_tools.teams_package import PackageConfig, build_manifest, validate_manifest

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


def run(tmp_path, monkeypatch, env):
    """Run the sub-command as `sga teams-package` would, with only `env` written to a .env file."""
    for name in [n for n in list(os.environ) if n.startswith("TEAMS_")]:
        monkeypatch.delenv(name)
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    parser = argparse.ArgumentParser(prog="sga")
    subparsers = parser.add_subparsers(dest="command", required=True)
    teams_package.register(subparsers)
    output = tmp_path / "out" / "teams.zip"
    args = parser.parse_args(["teams-package", "--output", str(output), "--env-file", str(env_file)])
    return args.handler(args), output


def test_package_has_a_valid_manifest_and_icons(tmp_path, monkeypatch, capsys):
    code, output = run(tmp_path, monkeypatch, GOOD_ENV)
    assert code == 0, capsys.readouterr().err
    with zipfile.ZipFile(output) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        color = Image.open(io.BytesIO(archive.read("color.png")))
        outline = Image.open(io.BytesIO(archive.read("outline.png")))

    assert validate_manifest(manifest) == []
    assert tuple(int(p) for p in manifest["manifestVersion"].split(".")) >= (1, 16)
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
    assert manifest["bots"][0]["scopes"] == ["personal", "team", "groupchat"]
    assert manifest["validDomains"] == ["sga.example.org", "tunnel.example.net"]

    assert color.size == (192, 192) and outline.size == (32, 32)
    assert outline.mode == "RGBA"
    pixels = [outline.getpixel((x, y)) for x in range(32) for y in range(32)]
    assert all(a == 0 or (r, g, b) == (255, 255, 255) for r, g, b, a in pixels), "outline must be white only"
    assert any(a == 0 for *_, a in pixels), "outline background must be transparent"
    assert any(a == 255 for *_, a in pixels), "outline must draw something"
    assert color.convert("RGBA").getpixel((0, 0))[3] == 255, "colour icon is opaque"


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


@pytest.mark.parametrize("name,value,problem", [
    ("TEAMS_BOT_NAME", "A bot name that is far too long for Teams", "name.short"),
    ("TEAMS_PRIVACY_URL", "http://insecure.example.org/privacy", "developer.privacyUrl"),
    ("TEAMS_VALID_DOMAINS", "https://sga.example.org/path", "validDomains"),
    ("TEAMS_APP_VERSION", "1.0", "version"),
    ("TEAMS_ACCENT_COLOR", "blue", "accentColor"),
])
def test_invalid_settings_are_refused_with_the_field(tmp_path, monkeypatch, capsys, name, value, problem):
    code, output = run(tmp_path, monkeypatch, {**GOOD_ENV, name: value})
    assert code == 2
    assert problem in capsys.readouterr().err
    assert not output.exists()


def test_validator_catches_missing_required_fields():
    manifest = build_manifest(PackageConfig.from_env(GOOD_ENV))
    for key in ("manifestVersion", "version", "id", "developer", "name", "description", "icons",
                "accentColor", "bots", "validDomains"):
        broken = {k: v for k, v in manifest.items() if k != key}
        assert validate_manifest(broken), f"{key} missing was not caught"
    assert validate_manifest({**manifest, "manifestVersion": "1.5"})
    assert validate_manifest({**manifest, "description": {"short": "x" * 81, "full": "y"}})
    assert validate_manifest({**manifest, "bots": [{"botId": APP_ID, "scopes": ["everyone"]}]})
