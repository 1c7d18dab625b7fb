"""One poll tick for one project: a single paged list call updates every backup in flight.

Cost stays flat as backups grow: the tick lists manual backups begun since the oldest one in
flight (100 per page), looks up individually only those missing from that list, and reads the job
API (progress %, optional) for at most ``progress_reads`` backups per tick. The backup status from
the list is the truth; the job API's early ``DBS.200543`` is expected and ignored.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.app.ports import Notifier
from bot.app.work import AdvanceRequest, PollProject, schedule
from bot.cloud.client import TaurusDB
from bot.cloud.errors import CloudError
from bot.cloud.models import BackupRecord, BackupStatus
from bot.domain.request import BackupRequest, State, utcnow
from bot.i18n import as_lang
from bot.store.requests import RequestStore, TransitionRefused
from bot.store.scheduler import Outcome, Scheduler

log = logging.getLogger("bot.app.polling")

# Clocks differ: list from a little before the oldest start we recorded.
LIST_MARGIN = timedelta(minutes=5)
PROGRESS_STEP = 10  # update the parent message when progress moves by at least this many points


@dataclass
class Poller:
    store: RequestStore
    scheduler: Scheduler
    cloud: TaurusDB
    slack: Notifier
    project_id: str
    interval: float
    timeout: float
    progress_reads: int = 3
    _progress_cursor: int = field(default=0, init=False)

    async def tick(self, work: PollProject) -> Outcome:
        entries = await self.store.in_flight(self.project_id)
        if not entries:
            return Outcome.finished()  # the next backup to start schedules the poller again
        loaded = await asyncio.gather(*(self.store.get(rid) for rid, _ in entries))
        watching: list[BackupRequest] = []
        for (rid, _), request in zip(entries, loaded, strict=True):
            if request is None or request.state not in (State.BUILDING, State.TIMED_OUT):
                await self.store.untrack(self.project_id, rid)
            else:
                watching.append(request)
        if not watching:
            return Outcome.finished()

        oldest = datetime.fromtimestamp(min(score for _, score in entries), UTC) - LIST_MARGIN
        try:
            records = await self._list_since(oldest)
            for request in watching:
                record = records.get(request.backup_id) or await self._lookup(request)
                await self._apply(request, record)
            await self._refresh_progress([r for r in watching if r.state is State.BUILDING])
        except CloudError as exc:
            log.warning("poll of %s failed (%s); next tick will try again", self.project_id, exc)
        return Outcome.later(self.interval)

    async def _list_since(self, since: datetime) -> dict[str, BackupRecord]:
        return {r.id: r async for r in self.cloud.iter_backups(begin_time=since, backup_type="manual")}

    async def _lookup(self, request: BackupRequest) -> BackupRecord | None:
        """One backup the list missed, fetched for its requester (its fail reason is shown to them)."""
        page = await self.cloud.list_backups(backup_id=request.backup_id, language=as_lang(request.language))
        return next((r for r in page.backups if r.id == request.backup_id), None)

    async def _apply(self, request: BackupRequest, record: BackupRecord | None) -> None:
        if record is not None and record.status is not BackupStatus.BUILDING:
            target = State.COMPLETED if record.status.succeeded else State.FAILED
            await self._settle(
                request,
                target,
                end_time=record.end_time or utcnow(),
                size_mb=record.size,
                progress=100 if record.status.succeeded else request.progress,
                error_msg=record.fail_reason or "",  # none: the reply says the cloud gave no reason
            )
            await self.store.untrack(self.project_id, request.id)
            return
        started = request.begin_time or request.created_at
        if request.state is State.BUILDING and (utcnow() - started).total_seconds() > self.timeout:
            await self._settle(request, State.TIMED_OUT)

    async def _settle(self, request: BackupRequest, target: State, **fields: object) -> None:
        try:
            await self.store.transition(
                request.id, target, from_states=[State.BUILDING, State.TIMED_OUT], **fields
            )
        except TransitionRefused:
            return
        await schedule(self.scheduler, AdvanceRequest(request_id=request.id))

    async def _refresh_progress(self, building: list[BackupRequest]) -> None:
        """Read job progress for a few backups per tick, round-robin, and show real changes."""
        with_jobs = [r for r in building if r.job_id]
        if not with_jobs:
            return
        start = self._progress_cursor % len(with_jobs)
        chosen = (with_jobs[start:] + with_jobs[:start])[: self.progress_reads]
        self._progress_cursor += len(chosen)
        for request in chosen:
            try:
                job = await self.cloud.get_job(request.job_id)
            except CloudError:
                continue  # not visible yet (DBS.200543) or a passing error: progress is optional
            if job.process is None:
                continue
            if request.progress is None or abs(job.process - request.progress) >= PROGRESS_STEP:
                await self.store.update(request.id, progress=job.process)
                request.progress = job.process
                await self.slack.update_parent(request)
