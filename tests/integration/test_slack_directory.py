"""The Slack directory against the fake Slack over HTTP: an answer the bot cannot read — whatever way
it is unreadable — is a passing lookup failure (DirectoryError), never another exception."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.ports import DirectoryError
from bot.local.fake_slack import FakeSlack
from bot.slack.directory import SlackDirectory

UNREADABLE: dict[str, dict[str, Any]] = {
    "text/plain with status 200": {"body": "<html>upstream reset</html>", "content_type": "text/plain"},
    "an empty text/plain body": {"body": "", "content_type": "text/plain"},
    "text/html with status 502": {
        "body": "<html>Bad Gateway</html>",
        "status": 502,
        "content_type": "text/html",
    },
    "JSON that does not parse": {"body": '{"ok": tr', "content_type": "application/json"},
    "JSON that is a list": {"body": "[1, 2]", "content_type": "application/json"},
    "JSON that is a string": {"body": '"ok"', "content_type": "application/json"},
    "an object whose ok is not a bool": {"body": '{"ok": {"x": 1}}', "content_type": "application/json"},
}

LOOKUPS: dict[str, tuple[str, Callable[[SlackDirectory], Awaitable[object]]]] = {
    "users.info": ("users.info", lambda d: d.user("U1")),
    "usergroups.list": ("usergroups.list", lambda d: d.user_groups()),
    "conversations.members": ("conversations.members", lambda d: d.is_member("U1", "C1")),
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        server.knobs.channel_members["C1"] = ["U1"]
        yield server


def directory(fake: FakeSlack) -> SlackDirectory:
    return SlackDirectory(AsyncWebClient(token="xoxb-test", base_url=fake.url))


@pytest.mark.parametrize("answer", list(UNREADABLE))
@pytest.mark.parametrize("lookup", list(LOOKUPS))
async def test_an_unreadable_answer_is_a_passing_lookup_failure(
    fake: FakeSlack, lookup: str, answer: str
) -> None:
    method, ask = LOOKUPS[lookup]
    fake.knobs.raw_next[method] = [UNREADABLE[answer]]
    with pytest.raises(DirectoryError) as raised:
        await ask(directory(fake))
    assert not raised.value.lasting  # asking again later may well work
    assert await ask(directory(fake)) is not None  # and it does, once Slack answers again


async def test_readable_answers_still_read(fake: FakeSlack) -> None:
    fake.knobs.locales = {"U1": "zh-CN"}
    found = directory(fake)
    assert (await found.user("U1")).locale == "zh-CN"
    assert await found.is_member("U1", "C1") is True
    assert await found.is_member("U2", "C1") is False
