"""Backups planned for a set time (``--at``, the form's start time).

The time is read in the requester's Slack time zone (``users.info`` ``tz``) before anything else is
looked up for them, and refused privately when it is past or more than seven days ahead. Approval,
when the policy asks for one, happens at request time: a request still waiting at its start time
expires then. An admitted request waits in ``SCHEDULED`` (cancellable, by the same decision step as
a pending one) until :func:`start` moves it on, at its time by Redis's clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app.requests import audit_entry, move, move_and_advance
from bot.app.services import Services
from bot.app.work import StartRequest, schedule
from bot.domain.audit import AuditAction
from bot.domain.lifetimes import StartRefusal, start_time, zone
from bot.domain.request import BackupRequest, State
from bot.store.outcome import Outcome


async def settle_start(services: Services, request: BackupRequest) -> StartRefusal | None:
    """Turn ``--at`` into a moment (stored as ``start_at``), or say why it cannot be used."""
    record = await services.people.resolve(request.user_id)
    now = await services.clock.now()
    try:
        when = start_time(request.at_asked, datetime.fromtimestamp(now, UTC), zone(record.tz))
    except StartRefusal as refusal:
        return refusal
    await services.store.update(request.id, start_at=when.timestamp())
    return None


def waits(request: BackupRequest, now: float) -> bool:
    """Whether the request's backup is planned for later than ``now``."""
    return request.start_at is not None and request.start_at > now


async def wait_for_start(services: Services, request: BackupRequest, source: State) -> BackupRequest | None:
    """Admitted (approved if it had to be): wait in SCHEDULED for the start time."""
    moved = await move(services, request.id, State.SCHEDULED, source)
    if moved is not None:
        await services.record(audit_entry(moved, AuditAction.SCHEDULED))
    return moved


async def keep_waiting(services: Services, request: BackupRequest) -> Outcome:
    """The SCHEDULED step: the start is its own work, at its time (a cancel meanwhile is handled
    at once, by the request's own work)."""
    assert request.start_at is not None
    now = await services.clock.now()
    await schedule(
        services.scheduler, StartRequest(request_id=request.id), delay=max(0.0, request.start_at - now)
    )
    await services.slack.update_parent(request)
    return Outcome.finished()


async def start(services: Services, work: StartRequest) -> Outcome:
    """The planned time came: on to CREATING, unless it was cancelled (or moved) meanwhile."""
    request = await services.store.get(work.request_id)
    if request is None or request.state is not State.SCHEDULED or request.start_at is None:
        return Outcome.finished()
    now = await services.clock.now()
    if now < request.start_at:
        return Outcome.later(request.start_at - now)
    await move_and_advance(services, request.id, State.CREATING, State.SCHEDULED)
    return Outcome.finished()


def approval_deadline(request: BackupRequest, now: float, expires_after: float) -> float:
    """A request planned for later waits for its approval until its start time at the latest."""
    deadline = now + expires_after
    return min(deadline, request.start_at) if request.start_at is not None else deadline
