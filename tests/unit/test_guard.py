"""The web process's first two checks, against real Bolt: ``bolt_request_of`` refuses bodies Bolt's
own code cannot read, and the guard (a class middleware) refuses malformed and foreign payloads
before Bolt builds a listener's arguments from them."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.guard import Guard, Workspace
from bot.slack.web import bolt_request_of

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}

ACTION = {"type": "button", "action_id": "approve_request", "block_id": "b", "value": "r-aaaaaaaaaa"}
CLICK: dict[str, Any] = {
    "type": "block_actions",
    "user": {"id": "U1", "team_id": "T1"},
    "team": {"id": "T1"},
    "actions": [ACTION],
}


def _form(payload: Any) -> str:
    return "payload=" + urllib.parse.quote(json.dumps(payload))


@pytest.mark.parametrize(
    ("raw", "headers"),
    [
        pytest.param("payload=" + urllib.parse.quote(text), FORM, id=f"payload {text}")
        for text in ("[1, 2]", '"block_actions"', "null", "7", "true", "{not json", "")
    ]
    + [
        pytest.param("[1, 2]", JSON, id="JSON body that is a list"),
        pytest.param('"x"', JSON, id="JSON body that is a string"),
        pytest.param("null", JSON, id="JSON body that is null"),
        pytest.param("{not json", JSON, id="JSON body that does not parse"),
        pytest.param("[" * 100_000 + "]" * 100_000, JSON, id="JSON nested past the recursion limit"),
        pytest.param(_form(CLICK | {"team": ["id"]}), FORM, id="a team that is a list"),
        pytest.param(_form(CLICK | {"user": 5}), FORM, id="a user that is a number"),
        pytest.param(_form(CLICK | {"enterprise": 5}), FORM, id="an enterprise that is a number"),
        pytest.param(_form(CLICK | {"channel": ["id"]}), FORM, id="a channel that is a list"),
        pytest.param(_form(CLICK | {"authorizations": 5}), FORM, id="authorizations that are a number"),
        pytest.param(_form(CLICK | {"authorizations": [5]}), FORM, id="an authorization that is a number"),
        pytest.param(_form(CLICK | {"response_urls": [5]}), FORM, id="a response URL that is a number"),
        pytest.param(
            json.dumps({"type": "event_callback", "team_id": "T1", "event": "x"}), JSON, id="an event string"
        ),
    ],
)
def test_bodies_bolt_cannot_read_are_refused_before_bolt(raw: str, headers: dict[str, str]) -> None:
    assert bolt_request_of(raw, "", headers) is None


def test_bodies_slack_sends_are_read_as_bolt_reads_them() -> None:
    click = bolt_request_of(_form(CLICK), "", FORM)
    assert click is not None and click.body == CLICK and click.context["user_id"] == "U1"
    command = bolt_request_of("command=%2Fbackup&team_id=T1&user_id=U1&text=help", "", FORM)
    assert command is not None and command.body["text"] == "help"
    event = {"type": "event_callback", "team_id": "T1", "event": {"type": "app_home_opened"}}
    read = bolt_request_of(json.dumps(event), "", JSON)
    assert read is not None and read.body == event


def _app(heard: list[str]) -> AsyncApp:
    async def authorize(**_: Any) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=None, team_id="T1", bot_token="xoxb-test", bot_user_id="UBOT")

    app = AsyncApp(
        client=AsyncWebClient(token="xoxb-test", base_url="http://127.0.0.1:9/"),
        authorize=authorize,
        request_verification_enabled=False,
    )
    app.middleware(Guard(Workspace("T1")))

    async def approve(ack: Any, context: AsyncBoltContext) -> None:
        heard.append(context["payload"].actions[0].value)
        await ack()

    app.action("approve_request")(approve)
    return app


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        pytest.param(CLICK | {"actions": []}, 400, id="empty actions"),
        pytest.param(CLICK | {"actions": {"0": ACTION}}, 400, id="actions that are an object"),
        pytest.param(CLICK | {"actions": ["approve_request"]}, 400, id="an action that is a string"),
        pytest.param(CLICK | {"actions": [ACTION, 5]}, 400, id="a second action that is a number"),
        pytest.param({k: v for k, v in CLICK.items() if k != "actions"}, 400, id="no actions"),
        pytest.param(CLICK | {"team": {"id": "T2OTHER"}}, 401, id="another workspace"),
    ],
)
async def test_the_guard_refuses_clicks_before_bolt_builds_arguments(payload: Any, status: int) -> None:
    heard: list[str] = []
    request = bolt_request_of(_form(payload), "", FORM)
    assert request is not None
    answer = await _app(heard).async_dispatch(request)
    assert (answer.status, heard) == (status, [])


async def test_the_guard_lets_a_well_formed_click_through() -> None:
    heard: list[str] = []
    request = bolt_request_of(_form(CLICK), "", FORM)
    assert request is not None
    answer = await _app(heard).async_dispatch(request)
    assert (answer.status, heard) == (200, ["r-aaaaaaaaaa"])


@pytest.mark.parametrize(
    "text", ["create orders-dev payload-x", "create orders-dev x before the payload deploy"]
)
def test_a_command_that_mentions_payload_is_read_as_the_command(text: str) -> None:
    # Bolt's own reader takes any form containing the word for an interaction, and sees nothing.
    raw = urllib.parse.urlencode({"command": "/backup", "text": text, "user_id": "U1", "team_id": "T1"})
    request = bolt_request_of(raw, "", FORM)
    assert request is not None
    assert request.body["text"] == text and request.body["command"] == "/backup"
    assert request.context.user_id == "U1" and request.context.team_id == "T1"


def test_an_interaction_is_still_read_from_its_payload_field() -> None:
    request = bolt_request_of(_form(CLICK), "", FORM)
    assert request is not None and request.body == CLICK and request.context.user_id == "U1"
