"""The create is sent only by the run that holds the request's lease now: a run that stalled past its
lease (a frozen worker, a long GC pause) sends nothing when it wakes, whether or not another run took
the work over yet, and of two runs that read the same count of tries only one counts the next. A
real Redis and the TaurusDB simulator over HTTP."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from bot.app.creating import create_backup
from bot.app.ports import running
from bot.app.work import AdvanceRequest, schedule
from bot.bootstrap import open_runtime
from bot.config import load_settings
from bot.domain.request import BackupRequest, State
from bot.local.simulator import SimulatorConfig, start_simulator
from bot.store.requests import RequestStore

PROJECT = "fe0cefe0cefe0cefe0cefe0cefe0cefe"
ORDERS_DEV = "77c0b1ebcd7bc7474758aa00de956eb1in07"


async def test_only_the_current_lease_sends_the_create(redis: aioredis.Redis, redis_url: str) -> None:
    # (``redis``: the database flushed, so the only work to claim is this request's)
    sim = await start_simulator(SimulatorConfig(project_id=PROJECT))
    settings = load_settings(
        SLACK_BOT_TOKEN="xoxb-fence", REDIS_URL=redis_url, HUAWEICLOUD_SDK_PROJECT_ID=PROJECT
    )
    runtime = await open_runtime(settings, redis_url=redis_url, with_cloud=True, cloud_endpoint=sim.url)
    services = runtime.services
    try:
        request = BackupRequest(
            state=State.CREATING,
            channel_id="C0FENCE",
            user_id="U0FENCE",
            instance_ref="orders-dev",
            instance_id=ORDERS_DEV,
            instance_name="orders-dev",
            backup_name="fenced-create",
            project_id=PROJECT,
            parent_ts="1700000000.000001",
            role="requester",
            language="en-us",
        )
        await services.store.create(request)
        await schedule(services.scheduler, AdvanceRequest(request_id=request.id))
        [stalled] = await services.scheduler.claim(limit=1, lease_seconds=0.2)
        await asyncio.sleep(0.3)  # its lease ran out while it stood still

        cloud = services.cloud.client(None)

        async def made() -> bool:
            return await cloud.find_backup(ORDERS_DEV, "fenced-create") is not None

        assert not await made()

        async def stalled_run() -> None:
            token = running.set(stalled)
            try:
                assert (await create_backup(services, request)) is not None  # it ends, sending nothing
            finally:
                running.reset(token)
            assert not await made()

        await stalled_run()  # run out, not taken over yet: up for grabs, so no longer its own
        [current] = await services.scheduler.claim(limit=1, lease_seconds=30)  # now taken over
        assert current.key == stalled.key and current.token != stalled.token
        await stalled_run()
        untouched = await services.store.get(request.id)
        assert untouched is not None and not untouched.create_attempted and untouched.create_tries == 0

        token = running.set(current)
        try:
            assert await create_backup(services, request) is None  # sent: look again
        finally:
            running.reset(token)
        created = await services.store.get(request.id)
        assert created is not None and created.state is State.BUILDING and created.create_tries == 1
        assert await made()
    finally:
        await services.close()
        await sim.stop()


async def test_of_two_runs_that_read_the_same_tries_one_counts_the_next(redis: aioredis.Redis) -> None:
    store = RequestStore(redis)
    request = BackupRequest(
        state=State.CREATING,
        channel_id="C0FENCE",
        user_id="U0FENCE",
        instance_ref="orders-dev",
        backup_name="counted-once",
    )
    await store.create(request)
    won = await asyncio.gather(*(store.claim_create(request.id, 0) for _ in range(5)))
    assert sorted(won) == [False] * 4 + [True]
    assert await store.claim_create(request.id, 1)  # the next try, counted on what is stored
    stored = await store.get(request.id)
    assert stored is not None and stored.create_attempted and stored.create_tries == 2
