"""Each person's Home tab in the fake Slack, like Slack's: views.publish with its limits and hash,
the published view for tests (in Python and over HTTP), and what Slack sends the bot about a Home:
``app_home_opened`` events and clicks whose container is the view. Driven through real Bolt."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import aiohttp
import pytest
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.local.fake_slack import (
    FakeSlack,
    app_home_opened_body,
    dm_channel_id,
    home_block_actions,
    interaction_body,
    sign_request,
)

SECRET = "s3cret"


def home(*texts: str, buttons: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "block_id": f"s{n}", "text": {"type": "mrkdwn", "text": text}}
        for n, text in enumerate(texts)
    ]
    if buttons:
        elements = [
            {
                "type": "button",
                "action_id": action,
                "value": value,
                "text": {"type": "plain_text", "text": action},
            }
            for action, value in buttons
        ]
        blocks.append({"type": "actions", "block_id": "decide", "elements": elements})
    return {"type": "home", "blocks": blocks}


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=fake.url)


async def error_of(call: Awaitable[object]) -> tuple[str, list[str]]:
    with pytest.raises(SlackApiError) as info:
        await call
    answer = info.value.response
    return str(answer["error"]), list((answer.get("response_metadata") or {}).get("messages", []))


# --- views.publish ----------------------------------------------------------------------------------


async def test_publish_keeps_each_persons_current_home(fake: FakeSlack, client: AsyncWebClient) -> None:
    assert fake.home_view("U1") is None
    first = (await client.views_publish(user_id="U1", view=home("one")))["view"]
    assert first["type"] == "home" and first["id"].startswith("V") and first["hash"]
    await client.views_publish(user_id="U2", view=home("for U2"))
    second = (await client.views_publish(user_id="U1", view=home("two")))["view"]
    assert second["id"] == first["id"] and second["hash"] != first["hash"]  # one Home per person
    current = fake.home_view("U1")
    assert current is not None and current["blocks"] == home("two")["blocks"]
    assert fake.home_view("U2") is not None and fake.home_view("U2") != current
    assert [c.args["user_id"] for c in fake.calls("views.publish")] == ["U1", "U2", "U1"]


async def test_a_stale_hash_is_a_conflict(fake: FakeSlack, client: AsyncWebClient) -> None:
    stale = (await client.views_publish(user_id="U1", view=home("one")))["view"]["hash"]
    fresh = (await client.views_publish(user_id="U1", view=home("two"), hash=stale))["view"]["hash"]
    assert await error_of(client.views_publish(user_id="U1", view=home("late"), hash=stale)) == (
        "hash_conflict",
        [],
    )
    assert (await client.views_publish(user_id="U1", view=home("three"), hash=fresh))["ok"] is True
    assert (await client.views_publish(user_id="U1", view=home("no hash: last write wins")))["ok"] is True
    assert [c.error for c in fake.calls("views.publish")] == [None, None, "hash_conflict", None, None]


async def test_slacks_limits_on_a_home_view(fake: FakeSlack, client: AsyncWebClient) -> None:
    await client.views_publish(user_id="U1", view=home("kept"))
    too_many = home(*[f"line {n}" for n in range(101)])
    error, messages = await error_of(client.views_publish(user_id="U1", view=too_many))
    assert error == "invalid_arguments" and "/view/blocks" in messages[0]
    assert (await client.views_publish(user_id="U1", view=home(*["x"] * 100)))["ok"] is True

    huge = home(*["é" * 2900] * 50)  # ≤ 100 blocks, but over 250 kB
    assert (await error_of(client.views_publish(user_id="U1", view=huge)))[0] == "view_too_large"
    modal = {**home("x"), "type": "modal"}
    assert (await error_of(client.views_publish(user_id="U1", view=modal)))[0] == "invalid_arguments"
    long_metadata = {**home("x"), "private_metadata": "m" * 3001}
    assert (await error_of(client.views_publish(user_id="U1", view=long_metadata)))[0] == "invalid_arguments"
    assert (await error_of(client.views_publish(user_id="nobody", view=home("x"))))[0] == "user_not_found"
    assert (await error_of(client.api_call("views.publish", json={"view": home("x")})))[
        0
    ] == "invalid_arguments"

    current = fake.home_view("U1")
    assert current is not None and len(current["blocks"]) == 100  # refusals changed nothing
    assert len(fake.calls("views.publish")) == 8


async def test_modals_have_the_same_block_limit(client: AsyncWebClient) -> None:
    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "x"},
        "blocks": home(*["x"] * 101)["blocks"],
    }
    assert (await error_of(client.views_open(trigger_id="t1", view=modal)))[0] == "invalid_arguments"


async def test_views_update_reaches_a_home_view(fake: FakeSlack, client: AsyncWebClient) -> None:
    published = (await client.views_publish(user_id="U1", view=home("one")))["view"]
    updated = await client.views_update(view_id=published["id"], hash=published["hash"], view=home("two"))
    assert updated["view"]["id"] == published["id"]
    current = fake.home_view("U1")
    assert current is not None and current["blocks"] == home("two")["blocks"]
    assert fake.workspace.views == {}  # a Home is not a modal on any stack


async def test_homes_over_http(fake: FakeSlack, client: AsyncWebClient) -> None:
    await client.views_publish(user_id="U1", view=home("one"))
    async with aiohttp.ClientSession() as session:
        async with session.get(fake.base_url + "_fake/home", params={"user": "U1"}) as resp:
            assert (await resp.json())["view"]["blocks"] == home("one")["blocks"]
        async with session.get(fake.base_url + "_fake/home", params={"user": "U2"}) as resp:
            assert (await resp.json())["view"] is None
        async with session.get(fake.base_url + "_fake/home") as resp:
            assert list((await resp.json())["views"]) == ["U1"]


# --- what Slack sends about a Home ----------------------------------------------------------------


def test_app_home_opened_body_is_an_events_api_envelope() -> None:
    body = json.loads(app_home_opened_body("U1", event_id="Ev1", event_time=1700000000, team_id="T2"))
    assert body["type"] == "event_callback" and body["team_id"] == "T2" and body["api_app_id"] == "A1"
    assert (body["event_id"], body["event_time"]) == ("Ev1", 1700000000)
    assert body["event"] | {"event_ts": "x"} == {
        "type": "app_home_opened",
        "user": "U1",
        "channel": dm_channel_id("U1"),
        "tab": "home",
        "event_ts": "x",
    }
    again = json.loads(app_home_opened_body("U1", view={"id": "V1", "type": "home"}))
    assert again["event"]["view"]["id"] == "V1" and again["event_id"] != body["event_id"]


def test_a_click_on_a_home_view_has_the_view_and_no_channel() -> None:
    view = {"id": "V9", "hash": "h", **home("pending", buttons=(("approve", "r-1"), ("approve", "r-2")))}
    payload = home_block_actions("U1", view, "approve", value="r-2")
    assert payload["type"] == "block_actions" and payload["container"] == {"type": "view", "view_id": "V9"}
    assert payload["view"] == view and payload["user"]["id"] == "U1" and payload["trigger_id"]
    assert not {"channel", "message", "response_url"} & set(payload)
    [action] = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"]) == ("approve", "decide", "r-2")
    assert home_block_actions("U1", view, "approve")["actions"][0]["value"] == "r-1"
    with pytest.raises(LookupError, match="reject"):
        home_block_actions("U1", view, "reject")
    with pytest.raises(LookupError):
        home_block_actions("U1", view, "approve", value="r-3")


async def test_bolt_publishes_a_home_on_open_and_takes_a_click_from_it(fake: FakeSlack) -> None:
    app = AsyncApp(client=AsyncWebClient(token="xoxb-test", base_url=fake.url), signing_secret=SECRET)
    clicked: list[dict[str, Any]] = []

    @app.event("app_home_opened")
    async def opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.views_publish(user_id=event["user"], view=home("hello", buttons=(("approve", "r-1"),)))

    @app.action("approve")
    async def approve(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        clicked.append(body)

    async def dispatch(raw: bytes) -> int:
        request = AsyncBoltRequest(body=raw.decode(), headers=sign_request(SECRET, raw))
        return (await app.async_dispatch(request)).status

    assert await dispatch(app_home_opened_body("U1")) == 200
    await fake.wait_for("views.publish")
    view = fake.home_view("U1")
    assert view is not None
    assert await dispatch(interaction_body(home_block_actions("U1", view, "approve"))) == 200
    [body] = clicked
    assert body["container"]["type"] == "view" and body["view"]["id"] == view["id"]
    assert body["actions"][0]["value"] == "r-1"
