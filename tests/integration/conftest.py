"""Integration fixtures: a TaurusDB + IAM simulator on a free loopback port, fast timings; a process's
runtime on a fake Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.bootstrap import Runtime, open_runtime
from bot.config import load_settings
from bot.local.fake_slack import FakeSlack
from bot.local.simulator import RunningSimulator, SimulatorConfig, start_simulator


@pytest.fixture
async def simulator() -> AsyncIterator[RunningSimulator]:
    """Open credentials (any token or well-formed AK/SK passes), 0.5 s backups, jobs hidden 0.3 s."""
    async with await start_simulator(SimulatorConfig(backup_seconds=0.5, job_invisible_seconds=0.3)) as sim:
        yield sim


@pytest.fixture
async def slack_runtime(redis: Any, redis_url: str) -> AsyncIterator[tuple[Runtime, FakeSlack]]:
    """A process's runtime (no cloud) on a real Redis (flushed first, by ``redis``), its Slack client
    pointed at a fake Slack."""
    async with FakeSlack() as fake:
        settings = load_settings(
            SLACK_BOT_TOKEN="xoxb-integration", SLACK_API_URL=fake.url, REDIS_URL=redis_url
        )
        runtime = await open_runtime(settings, redis_url=redis_url, with_cloud=False)
        try:
            yield runtime, fake
        finally:
            await runtime.services.close()
