"""A TaurusDB + IAM simulator over real HTTP, for local mode, tests and benchmarks.

It answers like the real service (shapes, status codes, DBS/APIGW error codes, AK/SK and token
authentication), drives backup status from the clock, and exposes an admin API under ``/_sim/`` to
inspect calls and inject faults.
"""

from __future__ import annotations

from bot.local.simulator.config import SimulatorConfig
from bot.local.simulator.faults import FailRule, FaultKnobs
from bot.local.simulator.seed import FAIL_REASON, SEED_INSTANCES, SeedInstance, seed_id
from bot.local.simulator.server import RunningSimulator, create_app, start_simulator

__all__ = [
    "FAIL_REASON",
    "SEED_INSTANCES",
    "FailRule",
    "FaultKnobs",
    "RunningSimulator",
    "SeedInstance",
    "SimulatorConfig",
    "create_app",
    "seed_id",
    "start_simulator",
]
