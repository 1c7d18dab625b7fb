"""The one local bootstrap: what a process needs that a deployment would bring itself — an embedded
Redis when ``REDIS_URL`` is unset, the TaurusDB simulator when no cloud is configured — started
here, handed to :mod:`bot.bootstrap` as plain URLs, and stopped on the way out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from bot.cloud.factory import LOCAL_PROJECT_ID
from bot.config import CloudAuth, Settings
from bot.local.embedded_redis import EmbeddedRedis
from bot.local.simulator import SimulatorConfig, start_simulator

log = logging.getLogger("bot.local")


def wants_simulator(settings: Settings) -> bool:
    """No cloud credentials and no endpoint of its own: the simulator stands in for the cloud."""
    return settings.cloud_auth is CloudAuth.NONE and settings.cloud_endpoint is None


@contextlib.asynccontextmanager
async def embedded_redis(data_dir: Path) -> AsyncIterator[str]:
    """A Redis server of our own with its data (AOF on) in ``data_dir``; its URL."""
    server = EmbeddedRedis(data_dir, appendonly=True)
    await asyncio.to_thread(server.start)
    log.warning(
        "REDIS_URL is not set: using an embedded server at %s (data in %s)", server.url, server.data_dir
    )
    try:
        yield server.url
    finally:
        await asyncio.to_thread(server.stop)


@contextlib.asynccontextmanager
async def simulator(config: SimulatorConfig) -> AsyncIterator[str]:
    """A TaurusDB + IAM simulator in this process; its URL."""
    running = await start_simulator(config)
    try:
        yield running.url
    finally:
        await running.stop()


@contextlib.asynccontextmanager
async def stand_ins(
    settings: Settings, *, with_cloud: bool, simulator_config: SimulatorConfig | None = None
) -> AsyncIterator[tuple[str, str | None]]:
    """(Redis URL, TaurusDB endpoint override or None) for ``settings``, starting what is missing."""
    async with contextlib.AsyncExitStack() as stack:
        redis_url = settings.redis_url
        if redis_url is None:
            redis_url = await stack.enter_async_context(embedded_redis(settings.local_dir / "redis"))
        endpoint = None
        if with_cloud and wants_simulator(settings):
            config = simulator_config or SimulatorConfig(project_id=settings.project_id or LOCAL_PROJECT_ID)
            endpoint = await stack.enter_async_context(simulator(config))
            log.warning(
                "NO CLOUD CREDENTIALS: talking to the built-in TaurusDB simulator at %s, not Huawei Cloud",
                endpoint,
            )
        yield redis_url, endpoint
