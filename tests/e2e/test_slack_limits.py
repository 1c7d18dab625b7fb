"""Issue 15 §2 over the real processes: the fake Slack enforces Slack's limits (posts per channel,
the tiers of chat.update, users.info, views.publish …) and two workers share one budget through
Redis. Many backups of one channel finishing together: each final reply arrives exactly once and
after its thread's "started" reply, without running into the limits; users.info is asked once per
person however many of their requests arrive at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.local.fake_slack import slack_tier_limits
from tests.e2e.harness import Stack, eventually, final_replies, own_stack, request_id_of

pytestmark = pytest.mark.asyncio(loop_scope="module")

BACKUPS = 8
POST_RATE = 4.0  # Slack allows about one post a second per channel; faster here to keep the test short


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    log_dir: Path = tmp_path_factory.mktemp("limits")
    async with own_stack(
        log_dir,
        env={"BACKUP_SLACK_POST_RATE": str(POST_RATE), "BACKUP_SLACK_TIER_SCALE": "1"},  # Slack's own tiers
        workers=2,
        simulator_args=("--fleet", str(BACKUPS), "--backup-seconds", "4"),
        session=request.session,
    ) as running:
        running.slack.knobs.update(
            {"post_rate": POST_RATE, "post_burst": 3, "tier_limits": slack_tier_limits()}
        )
        yield running


async def test_finals_in_one_channel_arrive_once_in_order_within_slacks_limits(stack: Stack) -> None:
    bot, slack = stack.bot, stack.slack
    channel = "C0LIMIT1"
    people = [f"U0LIM{i:03d}" for i in range(BACKUPS)]
    answers = await asyncio.gather(
        *(
            bot.command(f"create fleet-{i:03d} limits-{i}", user_id=people[i], channel_id=channel)
            for i in range(BACKUPS)
        )
    )
    assert all(a.status_code == 200 for a in answers)

    def parents() -> list[dict[str, object]]:
        return [m for m in slack.messages(channel) if not m.get("thread_ts")]

    await eventually(lambda: len(parents()) == BACKUPS or None, what="every parent posted", within=60)
    await eventually(
        lambda: len([m for m in final_replies(slack) if m["channel"] == channel]) >= BACKUPS or None,
        what="every final reply",
        within=90,
    )
    await asyncio.sleep(1.0)  # a duplicate would show by now

    for parent in parents():
        thread = slack.replies(channel, str(parent["ts"]))
        kinds = [(m.get("metadata") or {}).get("event_type") for m in thread]
        assert kinds.count("backup_bot_final") == 1, (request_id_of(parent), kinds)
        assert kinds.index("backup_bot_created") < kinds.index("backup_bot_final"), kinds
    refused = [c for c in slack.calls() if c.status == 429]
    # Sent a little under the limit, Slack measures arrival: at most a stray refusal, then waited out.
    assert len(refused) <= 2, [(c.method, c.at) for c in refused]
    made = [b["name"] for b in await bot.backups()]
    assert sorted(n for n in made if n.startswith("limits-")) == sorted(f"limits-{i}" for i in range(BACKUPS))
    # One users.info per person, however many requests, processes and steps asked about them.
    asked = [c.args.get("user") for c in slack.calls("users.info") if c.status == 200]
    assert sorted(u for u in asked if u in people) == people
