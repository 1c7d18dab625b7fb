"""manifest.yaml is a valid Slack app manifest and asks for exactly what the bot uses."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from slack_sdk.web.async_client import AsyncWebClient

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


# The bot-token scope each Web API method the bot calls needs (api.slack.com/methods/<method>);
# "" for the methods that need none. A method missing here fails the test below: add it with its scope.
SCOPES_OF = {
    "apps_connections_open": "",  # Socket Mode: the app-level token's connections:write, no bot scope
    "auth_test": "",
    "chat_getPermalink": "",
    "chat_postEphemeral": "chat:write",
    "chat_postMessage": "chat:write",  # also the DMs: a post to a user ID lands in the bot's own DM
    "chat_update": "chat:write",
    "conversations_join": "channels:join",
    "conversations_members": "channels:read groups:read",  # public and private channels
    "conversations_replies": "channels:history groups:history",  # a reply's thread, after a lost answer
    "usergroups_list": "usergroups:read",
    "users_info": "users:read",
    "views_open": "",
    "views_publish": "",
}


def web_api_calls() -> set[str]:
    """Every Web API method production code calls (``client.<method>(…)``), found in its syntax tree."""
    methods = {name for name in dir(AsyncWebClient) if not name.startswith("_") and name != "api_call"}
    called: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        if "local" in path.relative_to(ROOT / "bot").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            func = node.func if isinstance(node, ast.Call) else None
            if isinstance(func, ast.Attribute) and func.attr in methods:
                called.add(func.attr)
    return called


def test_manifest_asks_for_exactly_the_scopes_the_bot_uses(manifest: dict[str, Any]) -> None:
    called = web_api_calls()
    assert "chat_postMessage" in called and "views_publish" in called  # the scan sees the calls
    unknown = called - SCOPES_OF.keys()
    assert not unknown, f"which scope does {sorted(unknown)} need? add it to SCOPES_OF"
    needed = {scope for method in called for scope in SCOPES_OF[method].split()}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed | {"commands"}


def test_manifest_enables_the_home_tab_and_its_event(manifest: dict[str, Any]) -> None:
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    events = manifest["settings"]["event_subscriptions"]
    assert events["request_url"].endswith("/slack/events")
    assert events["bot_events"] == ["app_home_opened"]  # needs no scope of its own


def test_manifest_declares_the_shortcut_and_the_options_url(manifest: dict[str, Any]) -> None:
    (shortcut,) = manifest["features"]["shortcuts"]
    assert (shortcut["type"], shortcut["callback_id"]) == ("global", "take_backup")
    assert manifest["settings"]["interactivity"]["message_menu_options_url"].endswith("/slack/events")


def test_procfile_runs_the_contract_processes() -> None:
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert lines["web"].strip() == "python -m bot web"
    assert lines["worker"].strip() == "python -m bot worker"
