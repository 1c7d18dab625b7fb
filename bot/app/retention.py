"""How long each backup the bot takes is kept, and its deletion when that time is up.

A manual TaurusDB backup lives until someone deletes it, and storage beyond the free quota is
billed. The policy's ``retention`` (``default``, ``max``) and ``--keep`` say how long; the time is
settled when the request is admitted (:func:`settle_keep`) and counted from the moment the backup
completes (:func:`plan_deletion`). Deleting is durable work (:func:`delete`): at its time the bot
checks the backup is still there, is the manual backup it made for this request and is not
building, marks the request "deleting", and calls the cloud; a backup someone deleted meanwhile is
noted, a refusal reported once and tried again. A day before, the requester hears of it
(:func:`notice`) with a button that keeps it 30 more days; :func:`keep` changes the plan, for the
requester or an approver, within ``max`` — in the same atomic step that checks the deletion has
not begun (:class:`~bot.store.retention.RetentionStore`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.app import home, notices
from bot.app.access import Person
from bot.app.decisions import NoRole, Vetted, vet
from bot.app.ports import ReplyKind
from bot.app.replies import reply_once
from bot.app.requests import audit_entry, cloud_of, gate_of
from bot.app.services import Services
from bot.app.work import AdvanceRequest, DeleteBackup, NoticeDeletion, schedule
from bot.cloud.errors import ApiError, BackupNotFound, CloudError
from bot.cloud.models import BackupStatus
from bot.domain.audit import AuditAction
from bot.domain.backoff import backoff
from bot.domain.lifetimes import (
    KEEP_REFUSALS,
    MORE_DAYS,
    NOTICE_BEFORE,
    Keep,
    KeepRefusal,
    allowed_keep,
    notice_at,
    parse_keep,
)
from bot.domain.policy import Role
from bot.domain.request import BackupRequest, State, utcnow
from bot.store.outcome import Outcome
from bot.store.retention import DELETING

log = logging.getLogger("bot.app.retention")

NOT_KEPT = ("gone", "not_yours", "deleting", "unsettled", "no_role", *KEEP_REFUSALS)
RECORDS_AFTER = 30 * 86400  # the request is remembered this long after its planned deletion


def settle_keep(services: Services, request: BackupRequest, role: Role) -> float | None:
    """Seconds the backup is kept after it completes (None: forever), from ``--keep`` and the
    policy. Raises :class:`~bot.domain.lifetimes.KeepRefusal`."""
    asked = parse_keep(request.keep_asked) if request.keep_asked else None
    return allowed_keep(services.policy.retention, asked, approver=role >= Role.APPROVER).seconds


async def plan_deletion(services: Services, request: BackupRequest) -> BackupRequest:
    """A completed backup with a limited life gets its deletion planned (once) and scheduled."""
    if request.state is not State.COMPLETED or not request.backup_id or request.keep_for is None:
        return request
    now = await services.clock.now()
    if request.delete_at is None and not request.deletion:
        delete_at = now + request.keep_for
        planned = await services.retention.plan(
            request.id,
            request.backup_id,
            keep_records=request.keep_for + RECORDS_AFTER,
            delete_at=delete_at,
            deletion="planned",
        )
        if planned:
            request = request.model_copy(update={"delete_at": delete_at, "deletion": "planned"})
    if request.deletion == "planned":
        await _schedule(services, request, now)
    return request


async def _schedule(services: Services, request: BackupRequest, now: float, *, earlier: bool = False) -> None:
    assert request.delete_at is not None
    await schedule(
        services.scheduler,
        DeleteBackup(request_id=request.id),
        delay=max(0.0, request.delete_at - now),
        earlier=earlier,
    )
    if request.notice_for != request.delete_at:
        wait = max(0.0, notice_at(now, request.delete_at) - now)
        await schedule(services.scheduler, NoticeDeletion(request_id=request.id), delay=wait, earlier=earlier)


# --- the deletion itself -----------------------------------------------------------------------------


async def delete(services: Services, work: DeleteBackup, attempt: int = 1) -> Outcome:
    request = await services.store.get(work.request_id)
    if request is None or request.delete_at is None or request.deletion not in ("planned", "deleting"):
        return Outcome.finished()  # kept forever since, or already deleted (or gone)
    now = await services.clock.now()
    if now < request.delete_at:
        return Outcome.later(request.delete_at - now)  # kept longer since this was scheduled
    cloud = cloud_of(services, request)
    try:
        page = await cloud.list_backups(backup_id=request.backup_id, language=request.language)
    except CloudError as exc:
        return _again(request, f"could not look the backup up: {exc}", attempt)
    found = next((b for b in page.backups if b.id == request.backup_id), None)
    if found is None:
        # Gone. If this bot had begun deleting it, its own delete did it (an answer lost with a
        # worker); otherwise someone else deleted it: noted, not an error.
        return await _ended(services, request, by_us=request.deletion == "deleting")
    ours = (
        found.type == "manual"
        and found.instance_id == request.instance_id
        and found.name == request.backup_name
    )
    if not ours:
        log.error("%s: backup %s is not the one this request made; not deleting it", request.id, found.id)
        await _settle(services, request, "failed", ReplyKind.DELETE_PROBLEM, AuditAction.DELETE_FAILED)
        return Outcome.finished()
    if found.status is BackupStatus.BUILDING:
        return Outcome.later(backoff(1, base=60.0, cap=600.0, jitter=0.3))
    if request.deletion != "deleting":
        await services.store.update(request.id, deletion="deleting")
    try:
        await cloud.delete_backup(request.backup_id, language=request.language)
    except BackupNotFound:
        return await _ended(services, request, by_us=True)
    except ApiError as exc:
        if await services.store.set_once(request.id, "deletion_problem_ts", "reported"):
            problem = request.model_copy(update={"error_msg": str(exc)})
            await services.slack.reply(
                problem, ReplyKind.DELETE_PROBLEM, detail=str(exc), slot="deletion_problem_ts"
            )  # said at most once: its slot is marked before
            await services.record(audit_entry(request, AuditAction.DELETE_FAILED, detail=str(exc)))
        return _again(request, str(exc), attempt)
    except CloudError as exc:
        return _again(request, str(exc), attempt)
    return await _ended(services, request, by_us=True)


def _again(request: BackupRequest, why: str, attempt: int) -> Outcome:
    """Try again later, backing off; the try counts against the attempt budget (then the work is
    parked and the thread says to delete the backup by hand)."""
    wait = backoff(attempt, base=2.0, cap=600.0, jitter=0.3)
    log.warning(
        "%s: deleting backup %s failed (%s); again in %.0fs", request.id, request.backup_id, why, wait
    )
    return Outcome(done=False, retry_in=wait, failed=True)


async def _ended(services: Services, request: BackupRequest, *, by_us: bool) -> Outcome:
    if by_us:
        await _settle(services, request, "deleted", ReplyKind.DELETED, AuditAction.DELETED)
    else:
        await _settle(services, request, "gone", ReplyKind.DELETE_GONE, AuditAction.DELETED_ELSEWHERE)
    return Outcome.finished()


async def _settle(
    services: Services, request: BackupRequest, how: str, kind: ReplyKind, audited: AuditAction | None
) -> None:
    """The thread hears how the deletion ended (once: its ts marks it), then the request records
    it; a worker lost between the two says it again only if the reply's ts was not recorded."""
    done = request.model_copy(update={"deletion": how, "deleted_at": request.deleted_at or utcnow()})
    if not request.deletion_reply_ts:
        ts = await reply_once(services, done, kind, "deletion_reply_ts")
        if await services.store.set_once(request.id, "deletion_reply_ts", ts) and audited is not None:
            await services.record(audit_entry(done, audited))
    await services.store.update(request.id, deletion=how, deleted_at=done.deleted_at)
    await services.slack.update_parent(done)
    await home.changed(services, done)


async def deletion_given_up(services: Services, request_id: str, reason: str) -> None:
    """The delete work ran out of tries: the backup stays; the thread says to delete it by hand."""
    request = await services.store.get(request_id)
    if request is None or request.deletion in ("deleted", "gone"):
        return
    failed = request.model_copy(update={"error_msg": reason, "deletion": "failed"})
    await services.store.update(request.id, deletion="failed")
    await services.slack.reply(failed, ReplyKind.DELETE_PROBLEM, detail=reason)  # says "gave up"
    await services.slack.update_parent(failed)


# --- the notice, and keeping it longer -----------------------------------------------------------------


async def notice(services: Services, work: NoticeDeletion) -> Outcome:
    request = await services.store.get(work.request_id)
    if request is None or request.delete_at is None or request.deletion != "planned":
        return Outcome.finished()
    if request.notice_for == request.delete_at:
        return Outcome.finished()
    now = await services.clock.now()
    if request.delete_at - now > NOTICE_BEFORE + 1.0:
        return Outcome.later(request.delete_at - NOTICE_BEFORE - now)  # kept longer since: wait too
    await services.slack.tell_requester(request, notices.DeletionSoon(), lasting=True)
    await services.store.update(request.id, notice_for=request.delete_at)
    return Outcome.finished()


@dataclass(frozen=True)
class Kept:
    request: BackupRequest  # as it stands now (its new delete_at; None: kept forever)


@dataclass(frozen=True)
class NotKept:
    """Why not: ``gone`` (no such request or backup), ``not_yours``, ``deleting`` (too late),
    ``no_role`` (told nothing of the request), ``unsettled`` (who this is is not known yet), or the
    policy's ``too_long`` / ``forever_needs_approver`` (with ``longest``)."""

    reason: str
    longest: float | None = None
    request: BackupRequest | None = None


async def keep(
    services: Services, ref: str, user_id: str, asked: Keep | None, *, ask_slack: bool = True
) -> Kept | NotKept:
    """Keep the backup of ``ref`` (a request ID or a backup ID) for ``asked`` from now on, or
    (``asked`` None: the Keep button) 30 days past its planned deletion. Who asks is settled first
    (:func:`~bot.app.decisions.vet`): someone with no role learns nothing of the request."""
    store = services.store
    vetted = await vet(
        services,
        user_id,
        lambda: store.get(ref) if ref.startswith("r-") else store.by_backup_id(ref),
        ask_slack=ask_slack,
    )
    if not isinstance(vetted, Vetted):
        return NotKept("no_role" if isinstance(vetted, NoRole) else "unsettled")
    request = vetted.request
    if request is None:
        return NotKept("gone")
    approver = _approves(services, request, vetted.person, vetted.role)
    if user_id != request.user_id and not approver:
        return NotKept("not_yours", request=request)
    if request.deletion in DELETING or (request.state.final and request.state is not State.COMPLETED):
        return NotKept("deleting" if request.deletion in DELETING else "gone", request=request)
    now = await services.clock.now()
    if asked is None:
        base = request.delete_at if request.delete_at is not None else now
        asked = Keep(base + MORE_DAYS - now)
    try:
        keep_for = allowed_keep(services.policy.retention, asked, approver=approver).seconds
    except KeepRefusal as exc:
        return NotKept(exc.reason, exc.longest, request)
    fields: dict[str, object] = {"keep_asked": asked.text(), "keep_for": keep_for, "keep_settled": True}
    if request.state is State.COMPLETED:
        fields["delete_at"] = None if keep_for is None else now + keep_for
        fields["deletion"] = "" if keep_for is None else "planned"
    records = 0.0 if keep_for is None else keep_for + RECORDS_AFTER
    if not await services.retention.plan(request.id, request.backup_id, keep_records=records, **fields):
        return NotKept("deleting", request=request)
    kept = request.model_copy(update=fields)
    if kept.deletion == "planned":
        await _schedule(services, kept, now, earlier=True)
    await services.record(audit_entry(kept, AuditAction.KEPT, actor=user_id, detail=asked.text()))
    # The parent message shows the new plan: the request's own work updates it (this may run
    # before the web process answers Slack, which must not wait on Slack).
    await schedule(services.scheduler, AdvanceRequest(request_id=kept.id))
    return Kept(kept)


def _approves(services: Services, request: BackupRequest, person: Person | None, role: Role | None) -> bool:
    """Whether this person approves for this request (its gate, or roles.approver); someone whose
    role is not known yet (only ever about their own request) does not."""
    if person is None or role is None:
        return False
    return role >= Role.APPROVER or services.access.approves(gate_of(services, request), person) is True
