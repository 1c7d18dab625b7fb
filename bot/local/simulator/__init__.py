"""A TaurusDB + IAM simulator over real HTTP, for local mode, tests and benchmarks.

It answers like the real service (shapes, status codes, DBS/APIGW error codes, AK/SK and token
authentication), serves one or several regions on one endpoint (the project ID in the path selects
the region), drives backup status from the clock, and exposes an admin API under ``/_sim/`` to
inspect calls and inject faults.
"""

from __future__ import annotations

from bot.local.simulator.config import SimulatorConfig
from bot.local.simulator.faults import FailRule, FaultKnobs, Outage
from bot.local.simulator.regions import project_id_for
from bot.local.simulator.seed import (
    FAIL_REASON,
    OTHER_REGION_NAMES,
    SEED_INSTANCES,
    SeedInstance,
    region_seeds,
    regional_instance_id,
    seed_id,
)
from bot.local.simulator.server import RunningSimulator, create_app, start_simulator

__all__ = [
    "FAIL_REASON",
    "OTHER_REGION_NAMES",
    "SEED_INSTANCES",
    "FailRule",
    "FaultKnobs",
    "Outage",
    "RunningSimulator",
    "SeedInstance",
    "SimulatorConfig",
    "create_app",
    "project_id_for",
    "region_seeds",
    "regional_instance_id",
    "seed_id",
    "start_simulator",
]
