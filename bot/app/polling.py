"""One poll tick for one project: a single paged list call updates every backup in flight there.

Cost stays flat as backups grow: the tick lists manual backups begun since the oldest one in
flight (100 per page), looks up individually only those missing from that list (a few at once), and
reads the job API (progress %, optional) for at most ``progress_reads`` backups per tick. The backup
status from the list is the truth; the job API's early ``DBS.200543`` is expected and ignored. The
requests are read in one round trip (the few fields a tick needs, not whole requests) and the
finished ones settled together — each one's state change and next work item one script, the
scripts sent as one pipeline — so a tick over a thousand backups costs a list call and a few
pipelines, not a thousand round trips. Each project is its own work item with its own lease: a
region whose API fails delays only its own backups.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from bot.app.ports import Notifier
from bot.app.work import AdvanceRequest, PollProject
from bot.cloud.client import TaurusDB
from bot.cloud.errors import CloudError
from bot.cloud.fleet import Fleet
from bot.cloud.models import BackupRecord, BackupStatus
from bot.domain.request import BackupRequest, State, utcnow
from bot.i18n import as_lang
from bot.store.outcome import Outcome
from bot.store.requests import RequestStore, Watched
from bot.store.scheduler import Scheduler
from bot.store.settle import Move, Settler

log = logging.getLogger("bot.app.polling")

# Clocks differ: list from a little before the oldest start we recorded.
LIST_MARGIN = timedelta(minutes=5)
PROGRESS_STEP = 10  # update the parent message when progress moves by at least this many points
LOOKUPS_AT_ONCE = 8  # backups missing from the list, fetched by ID concurrently
# Pages of the backup list asked for at a time after the first: at 1,000 in flight a tick reads ten
# pages, and one after another each waited its turn behind every other handler of a busy worker.
PAGES_AT_ONCE = 4

_WATCHED = (State.BUILDING, State.TIMED_OUT)
T = TypeVar("T")


async def _bounded(limit: int, calls: Iterable[Callable[[], Awaitable[T]]]) -> list[T]:
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    return await asyncio.gather(*(one(c) for c in calls))


@dataclass
class Poller:
    store: RequestStore
    scheduler: Scheduler
    settler: Settler
    fleet: Fleet
    slack: Notifier
    interval: float
    timeout: float
    progress_reads: int = 3
    shown: Callable[[BackupRequest], Awaitable[None]] | None = None  # progress moved: who else to tell
    _cursors: dict[str, int] = field(default_factory=dict, init=False)

    async def tick(self, work: PollProject) -> Outcome:
        project_id = work.project_id
        try:
            cloud = self.fleet.client_of_project(project_id)
        except KeyError:
            log.warning("no longer serving project %s: its poll ends", project_id)
            return Outcome.finished()
        entries = await self.store.in_flight(project_id)
        if not entries:
            return Outcome.finished()  # the next backup to start schedules the poller again
        loaded = await self.store.watched_many(rid for rid, _ in entries)
        watching = [r for r in loaded if r is not None and r.state in _WATCHED]
        gone = {rid for rid, _ in entries} - {r.id for r in watching}
        await self.store.untrack(project_id, *gone)
        if not watching:
            return Outcome.finished()

        oldest = datetime.fromtimestamp(min(score for _, score in entries), UTC) - LIST_MARGIN
        try:
            records = {
                r.id: r
                async for r in cloud.iter_backups(
                    begin_time=oldest, backup_type="manual", pages_at_once=PAGES_AT_ONCE
                )
            }
            missing = [r for r in watching if r.backup_id not in records]
            found = await _bounded(
                LOOKUPS_AT_ONCE, [functools.partial(self._lookup, cloud, r) for r in missing]
            )
            records.update((r.id, r) for r in found if r is not None)
            ended = await self._apply_all(watching, records)
            # Both after the settle (a request untracked first and then not settled, by a worker
            # dying between, would never be watched again); neither waits for the other.
            await asyncio.gather(
                self.store.untrack(project_id, *ended),
                self._refresh_progress(
                    cloud,
                    project_id,
                    [r for r in watching if r.state is State.BUILDING and r.id not in ended],
                ),
            )
        except CloudError as exc:
            log.warning("poll of %s failed (%s); next tick will try again", project_id, exc)
        return Outcome.later(self.interval)

    async def _lookup(self, cloud: TaurusDB, request: Watched) -> BackupRecord | None:
        """One backup the list missed, fetched for its requester (its fail reason is shown to them)."""
        page = await cloud.list_backups(backup_id=request.backup_id, language=as_lang(request.language))
        return next((r for r in page.backups if r.id == request.backup_id), None)

    async def _apply_all(self, watching: list[Watched], records: dict[str, BackupRecord]) -> set[str]:
        """Settle every watched request whose backup ended (or that waited too long); the ids of
        those whose backup ended."""
        ended: set[str] = set()
        moves: list[Move] = []
        now = utcnow()
        for request in watching:
            record = records.get(request.backup_id)
            if record is not None and record.status is not BackupStatus.BUILDING:
                ended.add(request.id)
                target = State.COMPLETED if record.status.succeeded else State.FAILED
                fields = {
                    "end_time": record.end_time or now,
                    "size_mb": record.size,
                    "progress": 100 if record.status.succeeded else request.progress,
                    "error_msg": record.fail_reason or "",  # none: the reply says the cloud gave no reason
                }
                moves.append(self._move(request, target, fields))
                continue
            if request.state is State.BUILDING and (now - request.started).total_seconds() > self.timeout:
                request.state = State.TIMED_OUT  # shown as such from here on; the CAS below is the truth
                moves.append(self._move(request, State.TIMED_OUT, {}))
        # Each move is its own compare-and-set (a request another worker moved first is left alone);
        # the winners' next steps are scheduled in the same script.
        await self.settler.settle(moves)
        return ended

    @staticmethod
    def _move(request: Watched, target: State, fields: Mapping[str, object]) -> Move:
        work = AdvanceRequest(request_id=request.id)
        return Move(request.id, target, _WATCHED, str(work.key), work.payload(), fields)

    async def _refresh_progress(self, cloud: TaurusDB, project_id: str, building: list[Watched]) -> None:
        """Read job progress for a few backups per tick, round-robin, and show real changes."""
        with_jobs = [r for r in building if r.job_id]
        if not with_jobs:
            return
        start = self._cursors.get(project_id, 0) % len(with_jobs)
        chosen = (with_jobs[start:] + with_jobs[:start])[: self.progress_reads]
        self._cursors[project_id] = start + len(chosen)
        await asyncio.gather(*(self._show_progress(cloud, request) for request in chosen))

    async def _show_progress(self, cloud: TaurusDB, request: Watched) -> None:
        try:
            job = await cloud.get_job(request.job_id)
        except CloudError:
            return  # not visible yet (DBS.200543) or a passing error: progress is optional
        if job.process is None:
            return
        if request.progress is None or abs(job.process - request.progress) >= PROGRESS_STEP:
            whole = await self.store.get(request.id)  # the whole request, to show it
            if whole is None:
                return
            shown = whole.model_copy(update={"progress": job.process})
            # Nice to have: when Slack's budget has no turn free, the figure waits for the next
            # tick (the latest wins), and final replies never queue behind progress.
            if await self.slack.update_parent(shown, progress=True):
                await self.store.update(request.id, progress=job.process)
                request.progress = job.process
                if self.shown is not None:
                    await self.shown(shown)
