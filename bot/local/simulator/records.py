"""The simulated cloud's records: an instance, a backup with its job, an issued IAM token.

Plain dataclasses (the state file stores them with ``asdict``); :mod:`bot.local.simulator.state`
owns the collections and the rules that change them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.local.simulator.seed import SeedInstance


@dataclass
class InstanceState:
    """A seeded instance plus what the admin API changed about it."""

    seed: SeedInstance
    status: str
    fails_backups: bool
    region: str | None = None  # None: the first region (instances added by hand, e.g. by benchmarks)

    @property
    def id(self) -> str:
        return self.seed.id

    @property
    def name(self) -> str:
        return self.seed.name


@dataclass
class SimBackup:
    """A backup and its job; times are epoch seconds. ``region`` is "" only in old state files."""

    id: str
    name: str
    description: str
    instance_id: str
    instance_name: str
    begin: float
    finish: float
    fails: bool
    size_mb: float
    job_id: str
    job_visible: float
    type: str = "manual"
    region: str = ""

    def status(self, now: float) -> str:
        if now < self.finish:
            return "BUILDING"
        return "FAILED" if self.fails else "COMPLETED"

    def running(self, now: float) -> bool:
        return now < self.finish

    def progress(self, now: float) -> int:
        """Percent done while running, kept within 1–99."""
        span = self.finish - self.begin
        done = (now - self.begin) / span if span > 0 else 1.0
        return max(1, min(99, int(done * 100)))


@dataclass
class IssuedToken:
    value: str
    user: str
    domain: str
    project_id: str
    project_name: str
    issued: float
    expires: float


def backup_size(data_mb: float, backup_id: str) -> float:
    """A stable size within ±5% of the instance's data, derived from the backup ID."""
    spread = int(hashlib.sha256(backup_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return round(data_mb * (0.95 + 0.1 * spread), 2)
