"""The simulated cloud's data and rules: instances, backups (with their jobs) and issued tokens.

Status is derived from the clock when read (a backup is ``BUILDING`` until its finish time), so no
background task runs and a restarted simulator resumes where it stopped. Every mutation is saved to
the state file when one is configured. Refusals are raised as :class:`ApiFailure` with DBS codes.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from aiohttp import web

from bot.domain import rules
from bot.local.simulator.apierror import ApiFailure
from bot.local.simulator.config import SimulatorConfig
from bot.local.simulator.persistence import read_snapshot, write_snapshot
from bot.local.simulator.seed import SEED_INSTANCES, SeedInstance

SNAPSHOT_VERSION = 1


@dataclass
class InstanceState:
    """A seeded instance plus what the admin API changed about it."""

    seed: SeedInstance
    status: str
    fails_backups: bool

    @property
    def id(self) -> str:
        return self.seed.id

    @property
    def name(self) -> str:
        return self.seed.name


@dataclass
class SimBackup:
    """A manual backup and its job; times are epoch seconds."""

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


@dataclass
class SimulatorState:
    """All mutable simulator data. ``clock`` returns epoch seconds."""

    config: SimulatorConfig
    clock: Callable[[], float] = time.time
    instances: dict[str, InstanceState] = field(default_factory=dict)
    backups: dict[str, SimBackup] = field(default_factory=dict)
    jobs: dict[str, str] = field(default_factory=dict)  # job id → backup id
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    token_issues: int = 0

    def __post_init__(self) -> None:
        self._seed_instances()
        if self.config.state_file is not None:
            snapshot = read_snapshot(self.config.state_file)
            if snapshot is not None:
                self._restore(snapshot)

    def now(self) -> float:
        return self.clock()

    # instances

    def instance(self, instance_id: str) -> InstanceState | None:
        return self.instances.get(instance_id)

    def running_backup(self, instance_id: str, now: float) -> SimBackup | None:
        for backup in self.backups.values():
            if backup.instance_id == instance_id and backup.running(now):
                return backup
        return None

    def instance_status(self, instance: InstanceState, now: float) -> str:
        if instance.status == "ACTIVE" and self.running_backup(instance.id, now):
            return "BACKING UP"
        return instance.status

    def set_instance(
        self, instance_id: str, *, status: str | None, fails_backups: bool | None
    ) -> InstanceState:
        instance = self.instances.get(instance_id)
        if instance is None:
            raise ApiFailure(404, "DBS.200002", "The DB instance does not exist.")
        if status is not None:
            instance.status = status
        if fails_backups is not None:
            instance.fails_backups = fails_backups
        self.save()
        return instance

    # backups

    def create_backup(self, body: Any) -> SimBackup:
        """Validate like the service (seed rules first, then instance state) and start a backup."""
        if not isinstance(body, Mapping):
            raise ApiFailure(400, "DBS.200006", "The request body is empty or not a JSON object.")
        instance_id = body.get("instance_id")
        if not isinstance(instance_id, str) or not rules.is_instance_id(instance_id):
            raise ApiFailure(400, "DBS.280404", "Invalid DB instance ID or node ID format.")
        name = body.get("name")
        if not isinstance(name, str):
            raise ApiFailure(400, "DBS.280277", "Invalid backup name: a backup name is required.")
        if problem := rules.check_backup_name(name):
            raise ApiFailure(400, "DBS.280277", f"Invalid backup name: {problem}.")
        description = body.get("description")
        if description is not None:
            wrong = rules.check_description(description) if isinstance(description, str) else "not text"
            if wrong:
                raise ApiFailure(400, "DBS.280127", f"Invalid backup description: {wrong}.")
        instance = self.instances.get(instance_id)
        if instance is None:
            raise ApiFailure(404, "DBS.200002", "The DB instance does not exist.")
        now = self.now()
        if instance.status == "FROZEN":
            raise ApiFailure(400, "DBS.280449", "Operation not allowed on frozen objects.")
        if self.running_backup(instance_id, now):
            raise ApiFailure(409, "DBS.201205", "Backup is in progress. Please wait.")
        if instance.status != "ACTIVE":
            raise ApiFailure(400, "DBS.201014", "Operation not allowed by the instance status.")
        if any(b.instance_id == instance_id and b.name == name for b in self.backups.values()):
            raise ApiFailure(409, "DBS.201209", "The backup name already exists.")
        backup_id = uuid.uuid4().hex + "br07"
        backup = SimBackup(
            id=backup_id,
            name=name,
            description=description or "",
            instance_id=instance_id,
            instance_name=instance.name,
            begin=now,
            finish=now + self.config.backup_seconds,
            fails=instance.fails_backups,
            size_mb=_backup_size(instance.seed.data_mb, backup_id),
            job_id=str(uuid.uuid4()),
            job_visible=now + self.config.job_invisible_seconds,
        )
        self.backups[backup.id] = backup
        self.jobs[backup.job_id] = backup.id
        self.save()
        return backup

    def newest_first(self) -> list[SimBackup]:
        return sorted(self.backups.values(), key=lambda b: b.begin, reverse=True)

    def job(self, job_id: str, now: float) -> SimBackup | None:
        """The backup behind a visible job; None while it is still invisible or unknown."""
        backup = self.backups.get(self.jobs.get(job_id, ""))
        if backup is None or now < backup.job_visible:
            return None
        return backup

    # tokens

    def issue_token(self, *, user: str, domain: str, project_id: str, project_name: str) -> IssuedToken:
        now = self.now()
        token = IssuedToken(
            value="MIIsim" + secrets.token_urlsafe(96),
            user=user,
            domain=domain,
            project_id=project_id,
            project_name=project_name,
            issued=now,
            expires=now + self.config.token_ttl_seconds,
        )
        self.tokens[token.value] = token
        self.token_issues += 1
        self.save()
        return token

    def expire_tokens(self) -> int:
        now = self.now()
        for token in self.tokens.values():
            token.expires = min(token.expires, now)
        self.save()
        return len(self.tokens)

    # whole state

    def reset(self) -> None:
        """Back to the seed: no backups or jobs, instances as seeded. Issued tokens stay valid."""
        self.backups.clear()
        self.jobs.clear()
        self._seed_instances()
        self.save()

    def save(self) -> None:
        if self.config.state_file is not None:
            write_snapshot(self.config.state_file, self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "instances": {
                i.id: {"status": i.status, "fails_backups": i.fails_backups} for i in self.instances.values()
            },
            "backups": [asdict(b) for b in self.backups.values()],
            "tokens": [asdict(t) for t in self.tokens.values()],
            "token_issues": self.token_issues,
        }

    def _restore(self, snapshot: Mapping[str, Any]) -> None:
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported simulator state version {snapshot.get('version')!r}")
        for instance_id, changes in snapshot.get("instances", {}).items():
            if instance_id in self.instances:
                self.instances[instance_id] = replace(self.instances[instance_id], **changes)
        for item in snapshot.get("backups", []):
            backup = SimBackup(**item)
            self.backups[backup.id] = backup
            self.jobs[backup.job_id] = backup.id
        for item in snapshot.get("tokens", []):
            token = IssuedToken(**item)
            self.tokens[token.value] = token
        self.token_issues = int(snapshot.get("token_issues", 0))

    def _seed_instances(self) -> None:
        self.instances = {
            seed.id: InstanceState(seed, seed.status, seed.fails_backups) for seed in SEED_INSTANCES
        }


def _backup_size(data_mb: float, backup_id: str) -> float:
    """A stable size within ±5% of the instance's data, derived from the backup ID."""
    spread = int(hashlib.sha256(backup_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return round(data_mb * (0.95 + 0.1 * spread), 2)


STATE = web.AppKey("state", SimulatorState)
