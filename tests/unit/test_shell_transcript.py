"""The shell's transcript: what the bot posts in the fake Slack, printed as it is recorded, with
numbered messages and buttons that keep their numbers across updates; a person's Home tab, shown
when asked, followed as the bot publishes it again, and pressed only by its owner."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.home import Home
from bot.domain.policy import Role
from bot.domain.request import State
from bot.local.shell.console import Console
from bot.local.shell.context import Context
from bot.local.shell.home import HomeTab
from bot.local.shell.transcript import Transcript
from bot.local.shell.users import DEMO_USERS
from bot.slack.render.home import home_view
from bot.slack.render.request import APPROVE_ACTION
from tests.unit.test_shell_render import request

OSCAR, CAROL = DEMO_USERS[1], DEMO_USERS[2]
BUTTONS: list[dict[str, Any]] = [
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


def carols_home(*waiting: str) -> dict[str, Any]:
    """Carol's Home as the bot draws it, with oscar's pending requests ``waiting`` (their IDs)."""
    pending = tuple(
        request(State.PENDING_APPROVAL, id=rid, progress=None, approvals_needed=1) for rid in waiting
    )
    return home_view(
        Home(CAROL.id, "en-us", Role.APPROVER, waiting=pending, mine=(), in_flight=(), decides=True)
    )


@pytest.fixture
async def home(shell: tuple[Transcript, io.StringIO, AsyncWebClient]) -> HomeTab:
    """The shell's Home tab, following the fake; carol's Home published once, with one request."""
    transcript, _, client = shell
    tab = HomeTab(transcript.ctx, transcript)
    transcript.ctx.fake.add_listener(tab.on_call)
    await client.views_publish(user_id=CAROL.id, view=carols_home("r-aaaaaaaaaa"))
    return tab


async def test_a_home_is_shown_only_when_asked_with_buttons_only_its_owner_can_press(
    shell: tuple[Transcript, io.StringIO, AsyncWebClient], home: HomeTab
) -> None:
    transcript, out, _ = shell
    assert out.getvalue() == ""  # published, never asked for: nothing to say

    view = transcript.ctx.fake.home_view(CAROL.id)
    assert view is not None
    home.show(CAROL.id)
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["⌂ carol's Home · backup-bot", "  │ Backups"]
    assert "  │ [1 Take a backup]" in lines and "  │ [2 Approve]  [3 Reject]" in lines
    assert any(line.startswith("  │ @oscar asks for `pre-demo-1` of orders-dev") for line in lines)

    assert transcript.find_pressable("Approve", viewer=OSCAR.id) is None  # not oscar's Home
    found = transcript.find_pressable("Approve", viewer=CAROL.id)
    assert found is not None and found[0].message.seen_by == CAROL.id
    payload = home.click(CAROL, found[0].control, found[0].message.message, None)
    assert payload["container"] == {"type": "view", "view_id": view["id"]}
    assert "response_url" not in payload and "channel" not in payload
    assert [(a["action_id"], a["block_id"], a["value"]) for a in payload["actions"]] == [
        (APPROVE_ACTION, "decide:r-aaaaaaaaaa", "r-aaaaaaaaaa")
    ]

    home.show(CAROL.id)  # shown again: the same numbers
    assert out.getvalue().splitlines()[len(lines) :] == lines


async def test_a_home_published_again_is_announced_once_and_its_old_buttons_are_gone(
    shell: tuple[Transcript, io.StringIO, AsyncWebClient], home: HomeTab
) -> None:
    transcript, out, client = shell
    home.show(CAROL.id)
    found = transcript.find_pressable("Approve", viewer=CAROL.id)
    assert found is not None
    shown_so_far = out.getvalue()

    await client.views_publish(user_id=CAROL.id, view=carols_home("r-aaaaaaaaaa"))  # nothing new
    assert out.getvalue() == shown_so_far
    await client.views_publish(user_id=CAROL.id, view=carols_home())  # decided elsewhere
    await client.views_publish(user_id=CAROL.id, view=carols_home("r-bbbbbbbbbb"))
    notes = out.getvalue()[len(shown_so_far) :].splitlines()
    assert notes == ["  (carol's Home changed; :as carol, then :home, shows it)"]
    assert not transcript.is_live(found[0])  # the Home as it stands has no such button any more
