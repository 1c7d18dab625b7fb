"""The fake Slack Web API, driven over real HTTP by slack_sdk's async client (and Bolt)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.local.fake_slack import (
    FakeSlack,
    Knobs,
    interaction_body,
    sign_request,
    slash_command_body,
    usergroup_id,
)

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello* &lt;there&gt;"}}]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=fake.url)


async def raw_post(fake: FakeSlack, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(fake.base_url + path, **kwargs) as resp:
        body = await resp.json() if resp.content_type == "application/json" else await resp.text()
        return resp.status, body


# --- basics ---------------------------------------------------------------------------------------


async def test_url_is_a_web_api_base_url(fake: FakeSlack) -> None:
    assert fake.url.startswith("http://127.0.0.1:")
    assert fake.url.endswith("/api/")
    assert fake.response_url("abc") == fake.base_url + "response/abc"


async def test_not_started_has_no_url() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = FakeSlack().url


async def test_auth_test_identifies_the_bot_and_records_the_token(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    answer = await client.auth_test()
    assert answer["user_id"] == "UBOT" and answer["team_id"] == "T1" and answer["bot_id"] == "B1"
    [call] = fake.calls("auth.test")
    assert call.token == "xoxb-test" and call.status == 200 and call.error is None
    assert call.path == "/api/auth.test"
    assert abs(call.at - time.time()) < 5


async def test_calls_without_a_token_are_not_authed(fake: FakeSlack) -> None:
    status, body = await raw_post(fake, "api/auth.test")
    assert status == 200 and body == {"ok": False, "error": "not_authed"}
    fake.knobs.require_token = False
    assert (await raw_post(fake, "api/auth.test"))[1]["ok"] is True


async def test_unknown_methods_answer_ok(client: AsyncWebClient, fake: FakeSlack) -> None:
    answer = await client.api_call("reactions.add", params={"name": "eyes"})
    assert answer.data == {"ok": True}
    assert fake.calls("reactions.add")[0].args == {"name": "eyes"}


# --- bodies ---------------------------------------------------------------------------------------


async def test_json_body_is_recorded_with_blocks(fake: FakeSlack, client: AsyncWebClient) -> None:
    first = await client.chat_postMessage(channel="C1", text="hello", blocks=BLOCKS)
    second = await client.chat_postMessage(channel="C1", text="again", thread_ts=first["ts"])
    assert abs(float(first["ts"]) - time.time()) < 3600  # Slack-shaped: seconds.micro, from the clock
    assert float(second["ts"]) > float(first["ts"])
    assert first["channel"] == "C1" and first["message"]["blocks"] == BLOCKS
    [call, reply] = fake.calls("chat.postMessage")
    assert call.args == {"channel": "C1", "text": "hello", "blocks": BLOCKS}
    assert reply.args["thread_ts"] == first["ts"]
    assert fake.replies("C1", first["ts"])[0]["text"] == "again"


async def test_form_body_with_blocks_as_a_json_string_is_decoded(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    await client.api_call(
        "chat.postMessage", data={"channel": "C1", "text": "form", "blocks": json.dumps(BLOCKS)}
    )
    [call] = fake.calls("chat.postMessage")
    assert call.args == {"channel": "C1", "text": "form", "blocks": BLOCKS}


async def test_path_without_api_prefix_and_token_in_form(fake: FakeSlack) -> None:
    status, body = await raw_post(
        fake, "chat.postMessage", data={"token": "xoxb-form", "channel": "C2", "text": "x"}
    )
    assert status == 200 and body["ok"] is True
    [call] = fake.calls("chat.postMessage")
    assert call.token == "xoxb-form" and "token" not in call.args and call.path == "/chat.postMessage"


async def test_invalid_json_blocks_are_refused(fake: FakeSlack) -> None:
    _, body = await raw_post(
        fake, "api/chat.postMessage", data={"token": "t", "channel": "C1", "blocks": "[not json"}
    )
    assert body == {"ok": False, "error": "invalid_blocks"}
    assert fake.calls()[0].error == "invalid_blocks"


# --- chat -----------------------------------------------------------------------------------------


async def test_chat_update_replaces_the_message(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="v1", blocks=BLOCKS)
    new_blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "v2"}}]
    updated = await client.chat_update(channel="C1", ts=posted["ts"], text="v2", blocks=new_blocks)
    assert updated["ts"] == posted["ts"] and updated["message"]["blocks"] == new_blocks
    current = fake.message("C1", posted["ts"])
    assert current is not None and current["text"] == "v2" and current["blocks"] == new_blocks
    assert [m["ts"] for m in fake.messages("C1")] == [posted["ts"]]


async def test_chat_update_of_an_unknown_message(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as info:
        await client.chat_update(channel="C1", ts="1.2", text="x")
    assert info.value.response["error"] == "message_not_found"


async def test_chat_post_message_needs_text(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as info:
        await client.api_call("chat.postMessage", json={"channel": "C1"})
    assert info.value.response["error"] == "no_text"


async def test_ephemeral_and_permalink(fake: FakeSlack, client: AsyncWebClient) -> None:
    ephemeral = await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert ephemeral["message_ts"]
    posted = await client.chat_postMessage(channel="C1", text="x")
    link = await client.chat_getPermalink(channel="C1", message_ts=posted["ts"])
    assert link["permalink"].endswith("/archives/C1/p" + posted["ts"].replace(".", ""))
    assert fake.calls("chat.getPermalink")[0].args == {"channel": "C1", "message_ts": posted["ts"]}


# --- membership -----------------------------------------------------------------------------------


async def test_not_in_channel_until_joined(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.knobs.not_member = {"C9", "G9", "D9"}
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C9", text="hi")
    assert info.value.response["error"] == "not_in_channel"
    assert (await client.conversations_info(channel="C9"))["channel"]["is_member"] is False

    joined = await client.conversations_join(channel="C9")
    assert joined["channel"]["is_member"] is True
    posted = await client.chat_postMessage(channel="C9", text="hi")
    await client.chat_update(channel="C9", ts=posted["ts"], text="edited")
    assert [c.error for c in fake.calls("chat.postMessage")] == ["not_in_channel", None]


async def test_private_channels_cannot_be_joined_and_dms_always_work(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.knobs.not_member = {"G9", "D9"}
    with pytest.raises(SlackApiError) as info:
        await client.conversations_join(channel="G9")
    assert info.value.response["error"] == "method_not_supported_for_channel_type"
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="G9", text="hi")
    assert (await client.chat_postMessage(channel="D9", text="hi"))["ok"] is True
    info_g = await client.conversations_info(channel="G9")
    assert info_g["channel"]["is_private"] is True


# --- rate limits and failures ---------------------------------------------------------------------


async def test_rate_limit_with_retry_after_is_retried_by_the_handler(fake: FakeSlack) -> None:
    client = AsyncWebClient(
        token="xoxb-test",
        base_url=fake.url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake.knobs.rate_limit_next = {"chat.postMessage": 1}
    started = time.monotonic()
    answer = await client.chat_postMessage(channel="C1", text="hi")
    elapsed = time.monotonic() - started
    assert answer["ok"] is True
    assert elapsed >= 1.0  # Retry-After: 1 was honoured
    first, second = fake.calls("chat.postMessage")
    assert (first.status, first.error) == (429, "ratelimited")
    assert (second.status, second.error) == (200, None)
    assert second.at - first.at >= 1.0
    assert fake.knobs.rate_limit_next == {"chat.postMessage": 0}


async def test_rate_limit_without_a_retry_handler_surfaces_429(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.knobs.rate_limit_next = {"chat.update": 2}
    fake.knobs.retry_after = 7
    with pytest.raises(SlackApiError) as info:
        await client.chat_update(channel="C1", ts="1.1", text="x")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "7"
    assert info.value.response["error"] == "ratelimited"


async def test_server_errors_then_success(fake: FakeSlack) -> None:
    fake.knobs.fail_next = {"auth.test": 1}
    plain = AsyncWebClient(token="xoxb-test", base_url=fake.url)
    with pytest.raises(SlackApiError) as info:
        await plain.auth_test()
    assert info.value.response.status_code == 500

    fake.knobs.fail_next = {"auth.test": 1}
    retrying = AsyncWebClient(
        token="xoxb-test", base_url=fake.url, retry_handlers=[AsyncServerErrorRetryHandler(max_retry_count=1)]
    )
    assert (await retrying.auth_test())["ok"] is True
    assert [c.status for c in fake.calls("auth.test")] == [500, 500, 200]


async def test_error_next_answers_the_given_codes_in_order(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.knobs.error_next = {"views.open": ["expired_trigger_id", "trigger_exchanged"]}
    errors = []
    for _ in range(2):
        with pytest.raises(SlackApiError) as info:
            await client.views_open(trigger_id="t", view={"type": "modal"})
        errors.append(info.value.response["error"])
    assert errors == ["expired_trigger_id", "trigger_exchanged"]


async def test_slow_next_holds_the_next_answers_in_order(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.knobs.slow_next = {"views.open": [1.0]}
    slow = asyncio.create_task(client.views_open(trigger_id="t1", view={"type": "modal"}))
    await asyncio.sleep(0.1)
    assert not slow.done() and fake.calls("views.open") == []  # held, and recorded only when answered
    quick = await client.views_open(trigger_id="t2", view={"type": "modal"})  # only the next call
    assert quick["ok"] and not slow.done()
    assert (await slow)["ok"]
    assert [c.args["trigger_id"] for c in fake.calls("views.open")] == ["t2", "t1"]
    assert fake.knobs.slow_next == {"views.open": []}


# --- views, users, groups -------------------------------------------------------------------------

MODAL = {
    "type": "modal",
    "callback_id": "backup",
    "title": {"type": "plain_text", "text": "Backup"},
    "blocks": [],
}


async def test_views_open_update_push(fake: FakeSlack, client: AsyncWebClient) -> None:
    opened = await client.views_open(trigger_id="trig-1", view=MODAL)
    view = opened["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "backup" and view["hash"]
    assert fake.calls("views.open")[0].args["view"] == MODAL

    with pytest.raises(SlackApiError) as info:
        await client.views_open(trigger_id="trig-1", view=MODAL)
    assert info.value.response["error"] == "trigger_exchanged"

    updated = await client.views_update(view_id=view["id"], hash=view["hash"], view={**MODAL, "blocks": []})
    assert updated["view"]["id"] == view["id"]
    with pytest.raises(SlackApiError) as info:
        await client.views_update(view_id=view["id"], hash=view["hash"], view=MODAL)
    assert info.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as info:
        await client.views_update(view_id="VNOPE", view=MODAL)
    assert info.value.response["error"] == "not_found"

    pushed = await client.views_push(trigger_id="trig-2", view=MODAL)
    assert pushed["view"]["previous_view_id"] == view["id"]
    assert pushed["view"]["root_view_id"] == view["id"]


async def test_users_info_locale_and_time_zone(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.knobs.locales = {"U2": "zh-CN"}
    fake.knobs.timezones = {"U2": "Asia/Shanghai"}
    u2 = (await client.users_info(user="U2", include_locale=True))["user"]
    assert u2["locale"] == "zh-CN" and u2["tz"] == "Asia/Shanghai" and u2["tz_offset"] == 8 * 3600
    u1 = (await client.users_info(user="U1", include_locale=True))["user"]
    assert u1["locale"] == "en-US" and u1["tz_offset"] == 0
    assert "locale" not in (await client.users_info(user="U1"))["user"]
    assert fake.calls("users.info")[0].args == {"user": "U2", "include_locale": "1"}


async def test_usergroups(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.knobs.usergroups = {"db-oncall": ["U1", "U2"], "db-managers": ["U3"]}
    groups = (await client.usergroups_list(include_users=True))["usergroups"]
    assert {g["handle"]: g["users"] for g in groups} == {"db-oncall": ["U1", "U2"], "db-managers": ["U3"]}
    oncall_id = usergroup_id("db-oncall")
    assert oncall_id.startswith("S") and oncall_id == usergroup_id("db-oncall")
    members = await client.usergroups_users_list(usergroup=oncall_id)
    assert members["users"] == ["U1", "U2"]
    with pytest.raises(SlackApiError) as info:
        await client.usergroups_users_list(usergroup="SNOPE")
    assert info.value.response["error"] == "no_such_subteam"


# --- control over HTTP, response_url, waiting -----------------------------------------------------


async def test_knobs_and_calls_over_http(fake: FakeSlack, client: AsyncWebClient) -> None:
    status, body = await raw_post(
        fake, "_fake/knobs", json={"not_member": ["C5"], "rate_limit_next": {"x.y": 1}}
    )
    assert status == 200 and body["knobs"]["not_member"] == ["C5"]
    assert fake.knobs.not_member == {"C5"} and fake.knobs.rate_limit_next == {"x.y": 1}
    status, body = await raw_post(fake, "_fake/knobs", json={"nope": 1})
    assert status == 400 and "nope" in body["error"]

    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C5", text="x")
    await client.auth_test()
    async with aiohttp.ClientSession() as session:
        async with session.get(fake.base_url + "_fake/calls") as resp:
            calls = (await resp.json())["calls"]
        assert [c["method"] for c in calls] == ["chat.postMessage", "auth.test"]
        assert calls[0]["error"] == "not_in_channel" and calls[0]["args"]["channel"] == "C5"
        async with session.get(fake.base_url + "_fake/calls", params={"method": "auth.test"}) as resp:
            assert len((await resp.json())["calls"]) == 1
        async with session.get(fake.base_url + "_fake/knobs") as resp:
            assert (await resp.json())["knobs"]["retry_after"] == 1
        async with session.delete(fake.base_url + "_fake/calls") as resp:
            assert resp.status == 200
        async with session.get(fake.base_url + "_fake/messages") as resp:
            assert (await resp.json())["messages"] == []
    assert fake.calls() == []


def test_knobs_update_validates_types() -> None:
    knobs = Knobs()
    knobs.update({"fail_next": {"a.b": "2"}, "require_token": 0, "usergroups": {"g": ["U1"]}})
    assert (
        knobs.fail_next == {"a.b": 2} and knobs.require_token is False and knobs.usergroups == {"g": ["U1"]}
    )
    with pytest.raises(ValueError, match="unknown knobs: bogus"):
        knobs.update({"bogus": 1})


async def test_response_url_posts_are_recorded(fake: FakeSlack) -> None:
    url = fake.response_url("cmd-1")
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"text": "hi", "response_type": "ephemeral"}) as resp,
    ):
        assert resp.status == 200 and await resp.text() == "ok"
    [call] = fake.calls("response_url")
    assert call.args == {"text": "hi", "response_type": "ephemeral"} and call.path == "/response/cmd-1"


async def test_wait_for_a_method_or_a_predicate(fake: FakeSlack, client: AsyncWebClient) -> None:
    async def later() -> None:
        await asyncio.sleep(0.1)
        await client.chat_postMessage(channel="C1", text="one")
        await client.chat_postMessage(channel="C2", text="two")

    task = asyncio.create_task(later())
    calls = await fake.wait_for("chat.postMessage", count=2, timeout=5)
    assert [c.args["text"] for c in calls] == ["one", "two"]
    in_c2 = await fake.wait_for(lambda c: c.args.get("channel") == "C2", timeout=1)
    assert len(in_c2) == 1
    await task
    with pytest.raises(TimeoutError, match=r"chat\.update.*recorded: chat\.postMessage, chat\.postMessage"):
        await fake.wait_for("chat.update", timeout=0.2)


async def test_listeners_see_every_call(fake: FakeSlack, client: AsyncWebClient) -> None:
    seen: list[str] = []
    fake.add_listener(lambda call: seen.append(call.method))
    await client.auth_test()
    assert seen == ["auth.test"]


# --- what Slack sends to the bot ------------------------------------------------------------------


def test_sign_request_matches_slack_sdk_verifier() -> None:
    body = slash_command_body("list db1")
    headers = sign_request("s3cret", body)
    assert set(headers) == {"X-Slack-Request-Timestamp", "X-Slack-Signature"}
    assert SignatureVerifier("s3cret").is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    old = sign_request("s3cret", body, timestamp=1_000_000)
    assert old["X-Slack-Request-Timestamp"] == "1000000" and old["X-Slack-Signature"].startswith("v0=")


def test_slash_command_body_is_escaped_like_slack() -> None:
    fields = dict(urllib.parse.parse_qsl(slash_command_body("create db1 n1 a & <b>", user_id="U7").decode()))
    assert fields["text"] == "create db1 n1 a &amp; &lt;b&gt;"
    assert fields["user_id"] == "U7" and fields["command"] == "/backup" and fields["channel_id"] == "C1"
    assert fields["trigger_id"] and fields["response_url"]
    raw = dict(urllib.parse.parse_qsl(slash_command_body("create <@U1>", slack_escape=False).decode()))
    assert raw["text"] == "create <@U1>"
    again = dict(urllib.parse.parse_qsl(slash_command_body("x").decode()))
    assert again["trigger_id"] != fields["trigger_id"]


def test_interaction_body_is_a_urlencoded_payload() -> None:
    payload = {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"value": "a&b=c"}]}
    fields = dict(urllib.parse.parse_qsl(interaction_body(payload).decode()))
    assert set(fields) == {"payload"} and json.loads(fields["payload"]) == payload


async def test_bolt_dispatches_a_signed_slash_command_against_the_fake(fake: FakeSlack) -> None:
    app = AsyncApp(
        client=AsyncWebClient(token="xoxb-test", base_url=fake.url),
        signing_secret="s3cret",
    )

    @app.command("/backup")
    async def backup(ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        await ack()
        await respond(text=f"you typed {body['text']}")
        await client.chat_postMessage(channel=body["channel_id"], text="parent", blocks=BLOCKS)

    raw = slash_command_body("status r-abc", response_url=fake.response_url("r1"))
    response = await app.async_dispatch(
        AsyncBoltRequest(body=raw.decode(), headers={**sign_request("s3cret", raw)})
    )
    assert response.status == 200
    [responded] = await fake.wait_for("response_url")
    assert responded.args["text"] == "you typed status r-abc"
    [posted] = await fake.wait_for("chat.postMessage")
    assert posted.args["blocks"] == BLOCKS and posted.token == "xoxb-test"

    unsigned = await app.async_dispatch(AsyncBoltRequest(body=raw.decode(), headers={}))
    assert unsigned.status == 401


async def test_a_deleted_parent_message_is_not_an_error_for_the_worker(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    import aiohttp

    from bot.domain.request import BackupRequest
    from bot.slack.notifier import SlackNotifier
    from bot.slack.respond import Responder

    request = BackupRequest(
        channel_id="C1",
        user_id="U1",
        instance_ref="orders-dev",
        backup_name="gone-parent",
        parent_ts="1.000100",
    )
    async with aiohttp.ClientSession() as session:
        notifier = SlackNotifier(client, Responder(session, api_url=fake.url))
        await notifier.update_parent(request)  # no such message: a warning
    [call] = fake.calls("chat.update")
    assert call.error == "message_not_found"
