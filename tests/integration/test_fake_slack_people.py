"""The fake Slack's people and conversations, like Slack's: guests and time zones in users.info,
who is a member where (conversations.members, paged), the bot's DMs, and which workspace or
Enterprise org auth.test says the bot is installed in."""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator, Awaitable

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.local.fake_slack import BOT_USER_ID, FakeSlack, Knobs, dm_channel_id, group_dm_id


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=fake.url)


async def error_of(call: Awaitable[object]) -> str:
    with pytest.raises(SlackApiError) as info:
        await call
    return str(info.value.response["error"])


# --- users.info -----------------------------------------------------------------------------------


async def test_guests_are_restricted_and_single_channel_ones_ultra_restricted(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.knobs.guests = {"U2": "multi", "U3": "single"}
    flags = {}
    for user in ("U1", "U2", "U3"):
        found = (await client.users_info(user=user))["user"]
        flags[user] = (found["is_restricted"], found["is_ultra_restricted"])
    assert flags == {"U1": (False, False), "U2": (True, False), "U3": (True, True)}


async def test_users_info_time_zone_and_locale(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.knobs.timezones = {"U2": "America/New_York"}
    fake.knobs.locales = {"U2": "es-ES"}
    plain = (await client.users_info(user="U2"))["user"]
    assert plain["tz"] == "America/New_York" and plain["tz_offset"] in (-5 * 3600, -4 * 3600)
    assert "locale" not in plain
    assert (await client.users_info(user="U2", include_locale=True))["user"]["locale"] == "es-ES"


async def test_unknown_users_are_not_found(fake: FakeSlack, client: AsyncWebClient) -> None:
    assert await error_of(client.users_info(user="not-a-user")) == "user_not_found"
    assert await error_of(client.api_call("users.info", params={})) == "user_not_found"
    fake.knobs.known_users = {"U1"}
    assert (await client.users_info(user="U1"))["ok"] is True
    assert (await client.users_info(user=BOT_USER_ID))["user"]["is_bot"] is True
    assert await error_of(client.users_info(user="U2")) == "user_not_found"
    assert [c.error for c in fake.calls("users.info")] == ["user_not_found"] * 2 + [
        None,
        None,
        "user_not_found",
    ]


def test_guest_kinds_are_checked() -> None:
    knobs = Knobs()
    knobs.update({"guests": {"U2": "single"}, "known_users": ["U1", "U2"]})
    assert knobs.guests == {"U2": "single"} and knobs.known_users == {"U1", "U2"}
    assert knobs.to_json()["known_users"] == ["U1", "U2"]
    with pytest.raises(ValueError, match="guest kind"):
        knobs.update({"guests": {"U2": "visitor"}})


# --- auth.test --------------------------------------------------------------------------------------


async def test_auth_test_names_the_workspace_and_the_org(fake: FakeSlack, client: AsyncWebClient) -> None:
    plain = await client.auth_test()
    assert plain["team_id"] == "T1" and "enterprise_id" not in plain.data
    assert plain["is_enterprise_install"] is False

    fake.knobs.update({"team_id": "T9", "enterprise_id": "E1", "enterprise_install": True})
    grid = await client.auth_test()
    assert (grid["team_id"], grid["enterprise_id"], grid["is_enterprise_install"]) == ("T9", "E1", True)
    assert (await client.users_info(user="U1"))["user"]["team_id"] == "T9"
    assert (await client.chat_postMessage(channel="C1", text="x"))["message"]["team"] == "T9"


# --- membership -----------------------------------------------------------------------------------


async def all_members(client: AsyncWebClient, channel: str, limit: int) -> tuple[list[str], int]:
    members: list[str] = []
    cursor, pages = "", 0
    while True:
        page = await client.conversations_members(channel=channel, limit=limit, cursor=cursor or None)
        members += page["members"]
        pages += 1
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            return members, pages


async def test_members_are_paged_with_a_cursor(fake: FakeSlack, client: AsyncWebClient) -> None:
    people = [f"U{n}" for n in range(1, 8)]
    fake.knobs.channel_members = {"C1": people}
    members, pages = await all_members(client, "C1", limit=3)
    assert members == [*people, BOT_USER_ID] and pages == 3
    assert await error_of(client.conversations_members(channel="C1", cursor="bm9wZQ==")) == "invalid_cursor"


async def test_by_default_everyone_known_is_everywhere(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.knobs.locales = {"U2": "zh-CN"}
    fake.knobs.usergroups = {"db-managers": ["U3"]}
    fake.knobs.not_member = {"C9"}
    assert (await client.conversations_members(channel="C1"))["members"] == ["U2", "U3", BOT_USER_ID]
    assert (await client.conversations_members(channel="C9"))["members"] == ["U2", "U3"]  # the bot is out
    info = await client.conversations_info(channel="C1", include_num_members=True)
    assert info["channel"]["num_members"] == 3


async def test_a_private_channel_the_bot_is_not_in_does_not_exist(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.knobs.not_member = {"G9"}
    assert await error_of(client.conversations_members(channel="G9")) == "channel_not_found"
    assert await error_of(client.conversations_members(channel="")) == "channel_not_found"


async def test_ephemeral_messages_only_reach_members(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.knobs.channel_members = {"C1": ["U1"]}
    assert (await client.chat_postEphemeral(channel="C1", user="U1", text="yours"))["ok"] is True
    refused = client.chat_postEphemeral(channel="C1", user="U2", text="not yours")
    assert await error_of(refused) == "user_not_in_channel"
    assert (await client.chat_postEphemeral(channel="C2", user="U2", text="elsewhere"))["ok"] is True


# --- direct messages ------------------------------------------------------------------------------


async def test_conversations_open_gives_one_stable_dm_per_person(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    first = await client.conversations_open(users="U1")
    assert first["channel"] == {"id": dm_channel_id("U1")} and "already_open" not in first.data
    again = await client.conversations_open(users="U1", return_im=True)
    assert again["already_open"] is True and again["channel"]["id"] == first["channel"]["id"]
    assert again["channel"]["is_im"] is True and again["channel"]["user"] == "U1"
    assert dm_channel_id("U2") != dm_channel_id("U1")
    assert (await client.conversations_members(channel=dm_channel_id("U1")))["members"] == ["U1", BOT_USER_ID]
    info = (await client.conversations_info(channel=dm_channel_id("U1")))["channel"]
    assert info["is_im"] is True and info["is_member"] is True


async def test_conversations_open_refusals_and_group_dms(fake: FakeSlack, client: AsyncWebClient) -> None:
    assert await error_of(client.api_call("conversations.open", params={})) == "users_list_not_supplied"
    assert await error_of(client.conversations_open(users="nobody")) == "user_not_found"
    assert await error_of(client.conversations_open(channel="DNOPE")) == "channel_not_found"
    group = await client.conversations_open(users="U2,U1")
    assert group["channel"]["id"] == group_dm_id(["U1", "U2"]) == group_dm_id(["U2", "U1"])
    members = (await client.conversations_members(channel=group["channel"]["id"]))["members"]
    assert members == ["U1", "U2", BOT_USER_ID]
    assert (await client.conversations_info(channel=group["channel"]["id"]))["channel"]["is_mpim"] is True


async def test_posting_to_a_user_id_posts_into_their_dm(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="U1", text="just for you")
    dm = dm_channel_id("U1")
    assert posted["channel"] == dm
    assert [m["text"] for m in fake.messages(dm)] == ["just for you"] and fake.messages("U1") == []
    assert fake.conversation_of("U1") == dm and fake.conversation_of("C1") == "C1"
    reply = await client.chat_postMessage(channel=dm, text="more", thread_ts=posted["ts"])
    assert fake.replies(dm, posted["ts"])[0]["ts"] == reply["ts"]
    assert (await client.conversations_open(users="U1"))["already_open"] is True
    reopened = await client.conversations_open(channel=dm)
    assert reopened["channel"]["id"] == dm

    fake.knobs.known_users = {"U1"}
    assert await error_of(client.chat_postMessage(channel="U2", text="x")) == "channel_not_found"


# --- permalinks -----------------------------------------------------------------------------------


async def test_permalinks_of_parents_replies_and_dms(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C1", text="parent")
    reply = await client.chat_postMessage(channel="C1", text="reply", thread_ts=parent["ts"])
    dm = await client.chat_postMessage(channel="U1", text="private")

    def split(link: str) -> tuple[str, dict[str, str]]:
        parsed = urllib.parse.urlsplit(link)
        return parsed.path, dict(urllib.parse.parse_qsl(parsed.query))

    of_parent = (await client.chat_getPermalink(channel="C1", message_ts=parent["ts"]))["permalink"]
    assert split(of_parent) == ("/archives/C1/p" + parent["ts"].replace(".", ""), {})
    of_reply = (await client.chat_getPermalink(channel="C1", message_ts=reply["ts"]))["permalink"]
    assert split(of_reply) == (
        "/archives/C1/p" + reply["ts"].replace(".", ""),
        {"thread_ts": parent["ts"], "cid": "C1"},
    )
    of_dm = await client.chat_getPermalink(channel=dm["channel"], message_ts=dm["ts"])
    assert of_dm["channel"] == dm_channel_id("U1")
    assert split(of_dm["permalink"])[0] == f"/archives/{dm_channel_id('U1')}/p" + dm["ts"].replace(".", "")
    missing = client.chat_getPermalink(channel="C1", message_ts="1.000000")
    assert await error_of(missing) == "message_not_found"
