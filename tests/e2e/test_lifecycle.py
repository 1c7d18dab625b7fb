"""Issue 16 over the real processes: backups that are deleted when their time is up, and backups
planned for a set time. Durations are seconds here — ``--keep 5s`` and a policy whose default is
``6s`` — through the same grammar and code as ``14d`` (seconds are a unit like days): nothing in the
production path knows it is under test. Scenarios that only wait run side by side.

One deployment serves the module (one worker, restarted in the last test); the simulator has a fleet
of instances, one per backup, because the service allows one building backup per instance."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from bot.domain.request import State
from bot.local.embedded_redis import EmbeddedRedis
from tests.e2e.harness import (
    Shared,
    answers_at,
    dms_about,
    eventually,
    module_deployment,
    request_id_of,
    text_of,
    wait_answer,
    wait_parent,
    wait_shown,
    wait_state,
    wait_thread_final,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

POLICY = """
roles:
  requester: ["*"]
  operator: ["U0LOPS1"]
  approver: ["U0LBOSS1"]
approval:
  required_for: ["*prod*"]
retention:
  default: 6s
  max: 40d
"""
OPS, BOSS = "U0LOPS1", "U0LBOSS1"


class Env(Shared):
    async def backup(self, typed: str, channel: str, user: str = OPS) -> tuple[dict[str, Any], str]:
        answer = await self.bot.command(typed, user_id=user, channel_id=channel)
        assert answer.status_code == 200 and "r-" in answer.text, answer.text
        parent = await wait_parent(self.slack, channel)
        return parent, request_id_of(parent)

    def thread(self, parent: dict[str, Any]) -> list[str]:
        return [text_of(m) for m in self.slack.replies(parent["channel"], parent["ts"])]

    async def said(self, parent: dict[str, Any], words: str, within: float = 30.0) -> list[str]:
        found = await eventually(
            lambda: [t for t in self.thread(parent) if words in t] or None, what=words, within=within
        )
        return list(found)

    async def backup_of(self, name: str) -> dict[str, Any] | None:
        named = [b for b in await self.bot.backups() if b["name"] == name]
        assert len(named) <= 1
        return named[0] if named else None

    async def deletes_of(self, backup_id: str, *, by_bot: bool = True) -> list[dict[str, Any]]:
        return [
            c
            for c in await self.bot.cloud_calls()
            if c["method"] == "DELETE"
            and c["path"].endswith(f"/backups/{backup_id}")
            and (c.get("auth") != "console") == by_bot
        ]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(
    redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Env]:
    async with module_deployment(
        Env,
        redis_url=redis_server.url,
        log_dir=tmp_path_factory.mktemp("lifecycle"),
        request=request,
        policy=POLICY,
        simulator_args=("--fleet", "9"),
    ) as shared:
        yield shared


async def deleted_on_time(env: Env) -> None:
    parent, request_id = await env.backup("create fleet-000 life-default", "C0LIFE1")
    assert "complete" in text_of(await wait_thread_final(env.slack, parent)).lower()
    await wait_shown(env.slack, parent, "Deleted on")  # the parent says when it goes
    backup = await env.backup_of("life-default")
    assert backup is not None
    # The day-before notice (halfway, for a life this short), privately, with its button.
    notice = await eventually(lambda: dms_about(env.slack, OPS, request_id) or None, what="the notice")
    assert "will be deleted" in text_of(notice[0]) and "keep_more" in str(notice[0]["blocks"])
    [done] = await env.said(parent, "deleted as planned")
    await wait_shown(env.slack, parent, "Deleted")
    assert await env.backup_of("life-default") is None
    assert len(await env.deletes_of(backup["id"])) == 1
    await asyncio.sleep(1.0)  # nothing more comes
    assert len([t for t in env.thread(parent) if "deleted as planned" in t]) == 1
    assert [a for a, *_ in await env.audited(request_id=request_id)].count("deleted") == 1
    assert (await env.stored(request_id)).deletion == "deleted" and done


async def kept_longer_by_command(env: Env) -> None:
    parent, request_id = await env.backup("create fleet-001 life-keep --keep 5s", "C0LIFE2")
    await wait_thread_final(env.slack, parent)
    answer = await env.bot.command(f"keep {request_id} 30d", user_id=OPS, channel_id="C0LIFE2")
    assert "is now kept until" in answer.text, answer.text
    kept = await env.stored(request_id)
    assert kept.delete_at is not None and kept.keep_asked == "30d"
    await asyncio.sleep(7)  # past the first plan
    assert await env.backup_of("life-keep") is not None
    assert not [t for t in env.thread(parent) if "deleted" in t]
    too_long = await env.bot.command(f"keep {request_id} 41d", user_id=OPS, channel_id="C0LIFE2")
    assert "at most" in too_long.text
    forever = await env.bot.command(f"keep {request_id} forever", user_id=OPS, channel_id="C0LIFE2")
    assert "only approvers" in forever.text
    # Someone the bot has not met: settled after the ack (Slack asked), answered privately.
    url = env.slack.response_url()
    await env.bot.command(
        f"keep {request_id} 1d", user_id="U0LSTRANGER", channel_id="C0LIFE2", response_url=url
    )
    assert "Only the person who asked" in await wait_answer(env.slack, url)


async def kept_by_the_button(env: Env) -> None:
    parent, request_id = await env.backup("create fleet-002 life-button --keep 6s", "C0LIFE3")
    await wait_thread_final(env.slack, parent)
    [notice] = await eventually(lambda: dms_about(env.slack, OPS, request_id) or None, what="the notice")
    pressed = await env.bot.press(OPS, notice, "keep_more")
    assert "is now kept until" in await wait_answer(env.slack, pressed.response_url)
    await asyncio.sleep(6)
    assert await env.backup_of("life-button") is not None
    request = await env.stored(request_id)
    assert request.delete_at is not None and request.deletion == "planned"
    assert [a for a, *_ in await env.audited(request_id=request_id)].count("kept") == 1


async def deleted_by_hand_meanwhile(env: Env) -> None:
    parent, request_id = await env.backup("create fleet-003 life-hand --keep 5s", "C0LIFE4")
    await wait_thread_final(env.slack, parent)
    backup = await env.backup_of("life-hand")
    assert backup is not None
    await env.bot.sim("DELETE", f"backups/{backup['id']}")
    await env.said(parent, "already deleted by someone else")
    assert await env.deletes_of(backup["id"]) == []  # the bot sent no DELETE of its own
    assert (await env.stored(request_id)).deletion == "gone"
    await wait_shown(env.slack, parent, "by someone else")
    assert [a for a, *_ in await env.audited(request_id=request_id)].count("deleted_elsewhere") == 1


async def refused_then_deleted(env: Env) -> None:
    parent, request_id = await env.backup("create fleet-007 life-refused --keep 5s", "C0LIFE9")
    await wait_thread_final(env.slack, parent)
    backup = await env.backup_of("life-refused")
    assert backup is not None
    rule = {
        "method": "DELETE",
        "path_contains": backup["id"],
        "count": 2,
        "status": 400,
        "error_code": "DBS.201208",
    }
    await env.bot.sim("POST", "faults", {"fail_next": [rule]})
    await env.said(parent, "deleted as planned", within=40)  # the third try goes through
    refused = [t for t in env.thread(parent) if "was refused" in t]
    assert len(refused) == 1, env.thread(parent)  # said once, though refused twice
    assert len(await env.deletes_of(backup["id"])) == 3
    assert [a for a, *_ in await env.audited(request_id=request_id)].count("delete_failed") == 1


async def test_retention_deletes_on_time_once_and_keep_or_a_hand_deletion_change_that(env: Env) -> None:
    await asyncio.gather(
        refused_then_deleted(env),
        deleted_on_time(env),
        kept_longer_by_command(env),
        kept_by_the_button(env),
        deleted_by_hand_meanwhile(env),
    )


def at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")


async def planned_after_an_approval(env: Env) -> None:
    start = at(8)
    parent, request_id = await env.backup(
        f"create orders-prod life-planned --at {start}", "C0LIFE5", "U0LREQ1"
    )
    await env.bot.click(BOSS, parent, "approve_request")
    await wait_state(env.redis, request_id, State.SCHEDULED)
    shown = await wait_shown(env.slack, parent, "Starts", buttons=("cancel_request",))
    assert "planned" in text_of(shown)
    assert await env.backup_of("life-planned") is None  # nothing before its time
    [starting] = await env.said(parent, "starting as planned", within=30)
    final = await wait_thread_final(env.slack, parent)
    assert "complete" in text_of(final).lower()
    backup = await env.backup_of("life-planned")
    assert backup is not None
    began = datetime.fromisoformat(backup["begin_time"].replace("+0000", "+00:00"))
    assert began >= datetime.fromisoformat(start + "+00:00")  # no earlier than planned
    assert starting


async def planned_and_cancelled(env: Env) -> None:
    parent, request_id = await env.backup(f"create fleet-004 life-called-off --at {at(6)}", "C0LIFE6")
    await wait_state(env.redis, request_id, State.SCHEDULED)
    await wait_shown(env.slack, parent, "Starts", buttons=("cancel_request",))
    answer = await env.bot.command(f"cancel {request_id}", user_id=OPS, channel_id="C0LIFE6")
    assert answer.status_code == 200
    await wait_state(env.redis, request_id, State.CANCELLED)
    await asyncio.sleep(8)  # past its time
    assert await env.backup_of("life-called-off") is None
    assert (await env.stored(request_id)).state is State.CANCELLED


async def refused_times(env: Env) -> None:
    # At the calendar's edges a local time has no UTC moment (9999-12-31 in New York is year 10000
    # in UTC, 0001-01-01 in Tokyo is year 0): refused all the same, not retried until given up.
    env.slack.knobs.timezones.update({"U0LNY1": "America/New_York", "U0LJP1": "Asia/Tokyo"})
    for user, typed, says in (
        (OPS, "create fleet-005 life-past --at 2020-01-01T10:00", "is in the past"),
        (OPS, f"create fleet-005 life-far --at {at(8 * 86400)}", "more than 7 days ahead"),
        ("U0LNY1", "create fleet-005 life-last --at 9999-12-31T23:59", "more than 7 days ahead"),
        ("U0LJP1", "create fleet-005 life-first --at 0001-01-01T00:00", "is in the past"),
    ):
        url = env.slack.response_url()
        answer = await env.bot.command(typed, user_id=user, channel_id="C0LIFE7", response_url=url)
        assert answer.status_code == 200
        await eventually(
            lambda url=url, says=says: [a for a in answers_at(env.slack, url) if says in text_of(a)] or None,
            what=says,
        )
    assert [m for m in env.slack.messages("C0LIFE7") if not m.get("thread_ts")] == []  # nothing public
    looked_up = [c for c in await env.bot.cloud_calls() if c["query"].get("name") == "fleet-005"]
    assert looked_up == []  # refused before the instance was even looked up


async def test_planned_backups_start_at_their_time_or_not_at_all(env: Env) -> None:
    await asyncio.gather(planned_after_an_approval(env), planned_and_cancelled(env), refused_times(env))


async def test_a_worker_killed_while_deleting_deletes_once(env: Env) -> None:
    parent, request_id = await env.backup("create fleet-006 life-killed --keep 4s", "C0LIFE8")
    await wait_thread_final(env.slack, parent)
    backup = await env.backup_of("life-killed")
    assert backup is not None
    # The DELETE hangs in the cloud for 3 s; the worker that sent it dies meanwhile.
    await env.bot.sim(
        "POST", "faults", {"hang_ms": 3000, "hang_count": 1, "hang_path_contains": backup["id"]}
    )

    async def deleting() -> bool:
        return (await env.stored(request_id)).deletion == "deleting"

    for _ in range(200):
        if await deleting():
            break
        await asyncio.sleep(0.05)
    assert await deleting()
    worker = env.bot.process("worker1")
    worker.signal(signal.SIGKILL)
    env.bot.start_worker()  # its lease runs out; the new worker takes the work over
    await env.said(parent, "deleted as planned", within=40)
    assert len(await env.deletes_of(backup["id"])) == 1  # one DELETE, though two workers ran it
    assert await env.backup_of("life-killed") is None
    await asyncio.sleep(1.0)
    assert len([t for t in env.thread(parent) if "deleted as planned" in t]) == 1
