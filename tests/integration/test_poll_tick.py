"""One poll tick in-process, over real parts: Redis, the TaurusDB simulator over HTTP, Slack through
the bot's own client and notifier against the fake Web API.

A backup that ends in a tick is settled and untracked; it gets no progress read in that tick (its
progress, 100 from the settle, is never written over), while the backups still building do."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from bot.app.polling import Poller
from bot.app.work import PollProject
from bot.cloud.factory import build_taurusdb
from bot.cloud.fleet import Fleet
from bot.config import load_settings
from bot.domain.request import BackupRequest, State
from bot.local.fake_slack import FakeSlack
from bot.local.simulator import SimulatorConfig, start_simulator
from bot.local.simulator.seed import SeedInstance
from bot.local.simulator.state import InstanceState
from bot.local.simulator.traffic import TRAFFIC
from bot.slack.client import build_web_client
from bot.slack.notifier import SlackNotifier
from bot.slack.respond import Responder
from bot.store.pacing import Pacing
from bot.store.requests import RequestStore
from bot.store.scheduler import Scheduler
from bot.store.settle import Settler

PROJECT = "0" * 31 + "7"


@pytest.fixture
async def parts(redis: aioredis.Redis) -> AsyncIterator[dict[str, Any]]:
    sim = await start_simulator(
        SimulatorConfig(project_id=PROJECT, backup_seconds=3600, job_invisible_seconds=0)
    )
    async with FakeSlack() as fake, aiohttp.ClientSession() as session:
        settings = load_settings(
            SLACK_BOT_TOKEN="xoxb-tick",
            SLACK_API_URL=fake.url,
            TAURUSDB_ENDPOINT=sim.url,
            HUAWEICLOUD_SDK_PROJECT_ID=PROJECT,
        )
        cloud, http = build_taurusdb(settings, endpoint_override=sim.url)
        slack = build_web_client(settings, Pacing(redis), session=session)
        store, scheduler = RequestStore(redis), Scheduler(redis)
        poller = Poller(
            store=store,
            scheduler=scheduler,
            settler=Settler(redis, scheduler),
            fleet=Fleet([cloud]),
            slack=SlackNotifier(slack, Responder(session, api_url=settings.slack_api_url)),
            interval=1.0,
            timeout=3600.0,
        )
        try:
            yield {"sim": sim, "cloud": cloud, "slack": slack, "store": store, "poller": poller}
        finally:
            await http.aclose()
            await sim.stop()


async def _building(parts: dict[str, Any], index: int) -> BackupRequest:
    """A backup really created in the simulator, its thread's parent posted, its request recorded
    and tracked as the worker leaves it once the backup builds."""
    sim, cloud, slack = parts["sim"], parts["cloud"], parts["slack"]
    instance_id = f"{index:032d}in07"
    seed = SeedInstance(instance_id, f"tick-{index}", data_mb=1024.0)
    sim.state.instances[instance_id] = InstanceState(seed, seed.status, seed.fails_backups)
    created = await cloud.create_backup(instance_id, f"tick-backup-{index}", "")
    posted = await slack.chat_postMessage(channel="C0TICK", text="parent")
    request = BackupRequest(
        state=State.BUILDING,
        team_id="T0TICK",
        channel_id="C0TICK",
        user_id="U0TICK",
        instance_ref=seed.name,
        instance_id=instance_id,
        instance_name=seed.name,
        backup_name=f"tick-backup-{index}",
        backup_id=created.backup.id,
        job_id=created.job_id,
        project_id=PROJECT,
        parent_ts=str(posted["ts"]),
        create_attempted=True,
        create_tries=1,
    )
    await parts["store"].create(request, dedupe_key=f"tick:{index}")
    await parts["store"].track(PROJECT, request)
    return request


async def test_a_backup_that_ends_in_a_tick_is_settled_untracked_and_gets_no_progress_read(
    parts: dict[str, Any],
) -> None:
    ending, *building = [await _building(parts, i) for i in range(3)]
    sim, store = parts["sim"], parts["store"]
    sim.state.backups[ending.backup_id].finish = time.time() - 1  # it ended a second ago
    traffic = sim.app[TRAFFIC]
    traffic.clear()

    outcome = await parts["poller"].tick(PollProject(project_id=PROJECT))

    assert not outcome.done  # the next tick is scheduled: two backups still build
    settled = await store.get(ending.id)
    assert settled is not None and settled.state is State.COMPLETED and settled.progress == 100
    tracked = {rid for rid, _ in await store.in_flight(PROJECT)}
    assert tracked == {r.id for r in building}
    read_jobs = {c["query"].get("id") for c in traffic.calls if c["path"].endswith("/jobs")}
    assert read_jobs == {r.job_id for r in building}  # the ended one's job is not read
    for request in building:
        still = await store.get(request.id)
        assert still is not None and still.state is State.BUILDING
