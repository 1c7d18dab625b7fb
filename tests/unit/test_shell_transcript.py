"""The shell's transcript: what the bot posts in the fake Slack, printed as it is recorded, with
numbered messages and buttons that keep their numbers across updates."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.local.shell.console import Console
from bot.local.shell.context import Context
from bot.local.shell.transcript import Transcript
from bot.local.shell.users import DEMO_USERS

OSCAR, CAROL = DEMO_USERS[1], DEMO_USERS[2]
BUTTONS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Backup* waiting"}},
    {
        "type": "actions",
        "block_id": "decide",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "value": "r-1",
                "text": {"type": "plain_text", "text": "Approve"},
            },
            {
                "type": "button",
                "action_id": "reject",
                "value": "r-1",
                "text": {"type": "plain_text", "text": "Reject"},
            },
        ],
    },
]


@pytest.fixture
async def shell() -> AsyncIterator[tuple[Transcript, io.StringIO, AsyncWebClient]]:
    out = io.StringIO()
    ctx = Context(Console(interactive=False, out=out, stdin_fd=-1), OSCAR)  # never started: no reading
    transcript = Transcript(ctx)
    ctx.fake.add_listener(transcript.on_call)
    async with ctx.fake:
        yield transcript, out, AsyncWebClient(token="xoxb-test", base_url=ctx.fake.url)


async def test_posts_threads_and_updates_are_numbered(
    shell: tuple[Transcript, io.StringIO, AsyncWebClient],
) -> None:
    transcript, out, client = shell
    parent = await client.chat_postMessage(channel="C0BACKUPS", text="x", blocks=BUTTONS)
    await client.chat_postMessage(channel="C0BACKUPS", text="started", thread_ts=parent["ts"])
    lines = out.getvalue().splitlines()
    assert lines[0] == "#backups · message 1 · backup-bot"
    assert lines[2] == "  │ [1 Approve]  [2 Reject]"
    assert lines[-2] == "    ↳ message 2, in the thread of message 1 (#backups) · backup-bot"

    found = transcript.find_pressable("Reject")
    assert found is not None and found[0].control.action_id == "reject" and transcript.is_live(found[0])
    await client.chat_update(channel="C0BACKUPS", ts=parent["ts"], text="done", blocks=BUTTONS[:1])
    assert "(buttons removed: [1 Approve]  [2 Reject])" in out.getvalue()
    assert not transcript.is_live(found[0])  # the button is gone from the message as it stands


async def test_a_post_to_a_user_id_shows_in_their_dm(
    shell: tuple[Transcript, io.StringIO, AsyncWebClient],
) -> None:
    _, out, client = shell
    await client.chat_postMessage(channel=CAROL.id, text="a request waits for you")
    assert out.getvalue().splitlines() == [
        "DM with carol · message 1 · backup-bot",
        "  │ a request waits for you",
    ]


async def test_refusals_are_noted(shell: tuple[Transcript, io.StringIO, AsyncWebClient]) -> None:
    transcript, out, client = shell
    transcript.ctx.fake.knobs.not_member = {"C9"}
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C9", text="x")
    assert out.getvalue() == "(Slack refused the bot's chat.postMessage: not_in_channel)\n"
