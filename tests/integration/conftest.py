"""Integration fixtures: a TaurusDB + IAM simulator on a free loopback port, fast timings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.local.simulator import RunningSimulator, SimulatorConfig, start_simulator


@pytest.fixture
async def simulator() -> AsyncIterator[RunningSimulator]:
    """Open credentials (any token or well-formed AK/SK passes), 0.5 s backups, jobs hidden 0.3 s."""
    async with await start_simulator(SimulatorConfig(backup_seconds=0.5, job_invisible_seconds=0.3)) as sim:
        yield sim
