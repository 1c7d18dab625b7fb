"""manifest.yaml is a valid Slack app manifest and asks for exactly what the bot uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT.parent / "shared" / "reference" / "slack-manifest-schema"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "manifest.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_manifest_validates_against_slacks_schema(manifest: dict[str, Any]) -> None:
    major = manifest.get("_metadata", {}).get("major_version", 1)
    schema_file = SCHEMAS / f"manifest.schema.{major}.0.0.json"
    if not schema_file.exists():
        pytest.skip("Slack's manifest schema is not beside the project (../shared/reference)")
    schema = json.loads(schema_file.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(manifest), key=str)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_manifest_points_slack_at_the_contract_path(manifest: dict[str, Any]) -> None:
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/backup"
    assert command["usage_hint"]
    assert command["url"].endswith("/slack/events")
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["interactivity"]["request_url"].endswith("/slack/events")


def test_manifest_asks_for_exactly_the_scopes_the_bot_uses(manifest: dict[str, Any]) -> None:
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "channels:join",
        "usergroups:read",
    }


def test_manifest_declares_the_shortcut_and_the_options_url(manifest: dict[str, Any]) -> None:
    (shortcut,) = manifest["features"]["shortcuts"]
    assert (shortcut["type"], shortcut["callback_id"]) == ("global", "take_backup")
    assert manifest["settings"]["interactivity"]["message_menu_options_url"].endswith("/slack/events")


def test_procfile_runs_the_contract_processes() -> None:
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert lines["web"].strip() == "python -m bot web"
    assert lines["worker"].strip() == "python -m bot worker"
