"""The simulated cloud's data and rules: each region's instances, backups (with their jobs), and
the issued tokens.

Instances, backups and jobs belong to one region; a handler passes the region its path's project
selects, so one project never sees another's. Status is derived from the clock when read (a backup is
``BUILDING`` until its finish time), so no background task runs and a restarted simulator resumes
where it stopped. Every mutation is saved to the state file when one is configured. Refusals are
raised as :class:`ApiFailure` with DBS codes.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.local.simulator.apierror import ApiFailure, backup_not_found, bad_parameter, instance_not_found
from bot.local.simulator.config import SimulatorConfig
from bot.local.simulator.persistence import read_snapshot, write_snapshot
from bot.local.simulator.records import InstanceState, IssuedToken, SimBackup, backup_size
from bot.local.simulator.regions import ProjectMap
from bot.local.simulator.seed import fleet_seeds, region_seeds
from bot.local.simulator.validation import create_request

__all__ = ["STATE", "InstanceState", "IssuedToken", "SimBackup", "SimulatorState"]

SNAPSHOT_VERSION = 1


@dataclass
class SimulatorState:
    """All mutable simulator data. ``clock`` returns epoch seconds."""

    config: SimulatorConfig
    clock: Callable[[], float] = time.time
    instances: dict[str, InstanceState] = field(default_factory=dict)
    backups: dict[str, SimBackup] = field(default_factory=dict)
    deleted: dict[str, SimBackup] = field(default_factory=dict)  # kept so their jobs can be read
    jobs: dict[str, str] = field(default_factory=dict)  # job id → backup id
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    token_issues: int = 0
    projects: ProjectMap = field(init=False)

    def __post_init__(self) -> None:
        self.projects = self.config.project_map()
        self._seed_instances()
        if self.config.state_file is not None:
            snapshot = read_snapshot(self.config.state_file)
            if snapshot is not None:
                self._restore(snapshot)

    def now(self) -> float:
        return self.clock()

    # regions and instances

    def region_of(self, project_id: str) -> str | None:
        return self.projects.region_of(project_id)

    def home(self, instance: InstanceState) -> str:
        return instance.region or self.projects.first.region

    def instances_in(self, region: str) -> list[InstanceState]:
        return [i for i in self.instances.values() if self.home(i) == region]

    def instance(self, instance_id: str, region: str | None = None) -> InstanceState | None:
        """The instance, if it exists (in ``region``, when one is given)."""
        instance = self.instances.get(instance_id)
        if instance is None or (region is not None and self.home(instance) != region):
            return None
        return instance

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
            raise instance_not_found()
        if status is not None:
            instance.status = status
        if fails_backups is not None:
            instance.fails_backups = fails_backups
        self.save()
        return instance

    # backups

    def create_backup(self, region: str, body: Any) -> SimBackup:
        """Validate like the service (seed rules first, then instance state) and start a backup."""
        wanted = create_request(body)
        instance = self.instance(wanted.instance_id, region)
        if instance is None:
            raise instance_not_found()
        now = self.now()
        if instance.status == "FROZEN":
            raise ApiFailure(400, "DBS.280449", "Operation not allowed on frozen objects.")
        if self.running_backup(instance.id, now):
            raise ApiFailure(409, "DBS.201205", "Backup is in progress. Please wait.")
        if instance.status != "ACTIVE":
            raise ApiFailure(400, "DBS.201014", "Operation not allowed by the instance status.")
        if any(b.instance_id == instance.id and b.name == wanted.name for b in self.backups.values()):
            raise ApiFailure(409, "DBS.201209", "The backup name already exists.")
        backup = self._new_backup(instance, now, name=wanted.name, description=wanted.description)
        self.jobs[backup.job_id] = backup.id
        self.save()
        return backup

    def add_auto_backup(self, instance_id: str) -> SimBackup:
        """A finished automated backup of the instance, as the backup policy would have taken."""
        instance = self.instances.get(instance_id)
        if instance is None:
            raise instance_not_found()
        now = self.now()
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d%H%M%S")
        backup = self._new_backup(instance, now - 60, name=f"autobackup-{stamp}", kind="auto", finish=now)
        self.save()
        return backup

    def delete_backup(self, region: str, backup_id: str) -> SimBackup:
        """Delete a manual backup that is not building (fact sheet §2.5); it leaves every list."""
        backup = self.backups.get(backup_id)
        if backup is None or backup.region != region:
            raise backup_not_found()
        if backup.type != "manual":
            raise bad_parameter("backup_id", "an automated backup cannot be deleted manually")
        if backup.running(self.now()):
            raise ApiFailure(400, "DBS.201208", "Operation not allowed by the backup status.")
        del self.backups[backup_id]
        self.deleted[backup_id] = backup
        self.save()
        return backup

    def newest_first(self, region: str | None = None) -> list[SimBackup]:
        found = [b for b in self.backups.values() if region is None or b.region == region]
        return sorted(found, key=lambda b: b.begin, reverse=True)

    def job(self, region: str, job_id: str, now: float) -> SimBackup | None:
        """The backup behind a visible job of ``region``; None while invisible, or unknown there."""
        backup_id = self.jobs.get(job_id, "")
        backup = self.backups.get(backup_id) or self.deleted.get(backup_id)
        if backup is None or backup.region != region or now < backup.job_visible:
            return None
        return backup

    def _new_backup(
        self,
        instance: InstanceState,
        begin: float,
        *,
        name: str,
        description: str = "",
        kind: str = "manual",
        finish: float | None = None,
    ) -> SimBackup:
        backup_id = uuid.uuid4().hex + "br07"
        backup = SimBackup(
            id=backup_id,
            name=name,
            description=description,
            instance_id=instance.id,
            instance_name=instance.name,
            begin=begin,
            finish=begin + self.config.backup_seconds if finish is None else finish,
            fails=instance.fails_backups and kind == "manual",
            size_mb=backup_size(instance.seed.data_mb, backup_id),
            job_id=str(uuid.uuid4()),
            job_visible=begin + self.config.job_invisible_seconds,
            type=kind,
            region=self.home(instance),
        )
        self.backups[backup.id] = backup
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
        self.deleted.clear()
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
            "deleted": [asdict(b) for b in self.deleted.values()],
            "tokens": [asdict(t) for t in self.tokens.values()],
            "token_issues": self.token_issues,
        }

    def _restore(self, snapshot: Mapping[str, Any]) -> None:
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported simulator state version {snapshot.get('version')!r}")
        for instance_id, changes in snapshot.get("instances", {}).items():
            if instance_id in self.instances:
                self.instances[instance_id] = replace(self.instances[instance_id], **changes)
        for key, into in (("backups", self.backups), ("deleted", self.deleted)):
            for item in snapshot.get(key, []):
                # files written before regions existed hold the first region's backups only
                backup = SimBackup(**item)
                backup.region = backup.region or self.projects.first.region
                into[backup.id] = backup
                if backup.type == "manual":  # automated backups have no job to query
                    self.jobs[backup.job_id] = backup.id
        for item in snapshot.get("tokens", []):
            token = IssuedToken(**item)
            self.tokens[token.value] = token
        self.token_issues = int(snapshot.get("token_issues", 0))

    def _seed_instances(self) -> None:
        first = self.projects.first.region
        self.instances = {
            seed.id: InstanceState(seed, seed.status, seed.fails_backups, region)
            for region in self.projects.regions
            for seed in region_seeds(region, first=region == first)
        }
        for seed in fleet_seeds(self.config.fleet_instances):
            self.instances[seed.id] = InstanceState(seed, seed.status, seed.fails_backups, first)


STATE = web.AppKey("state", SimulatorState)
