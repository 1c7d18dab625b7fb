"""When work is given up on (its attempt budget ran out, or it can never run): say so to whoever
waits for it, record it, and leave the request in a state that tells the truth.

The runner parks the work (:meth:`~bot.store.scheduler.Scheduler.park`: out of the schedule, kept
with the reason, counted on ``/metrics``) and then calls :func:`on_parked`, which must not raise.
"""

from __future__ import annotations

import logging

from bot.app import home, notices, retention
from bot.app.requests import audit_entry, move
from bot.app.services import Services
from bot.app.work import AnswerLookup, PoisonWork, read
from bot.domain.audit import AuditAction
from bot.domain.request import GAVE_UP, State
from bot.i18n import as_lang
from bot.store.scheduler import Lease
from bot.store.work import WorkKey, WorkKind

log = logging.getLogger("bot.app.parking")

# States in which nothing was sent to the cloud yet: giving up there ends the request (CREATE_FAILED,
# GAVE_UP) and means "nothing was made". So does CREATING before its first create call.
_NOTHING_MADE = (State.RECEIVED, State.PENDING_APPROVAL, State.APPROVED, State.SCHEDULED)


async def on_parked(services: Services, lease: Lease, reason: str) -> None:
    key = WorkKey.parse(lease.key)  # (the runner has counted it: backup_bot_work_total{result="parked"})
    try:
        if key is not None and key.kind in (WorkKind.REQUEST, WorkKind.START):
            await _request_given_up(services, key.ident, reason)
        elif key is not None and key.kind is WorkKind.DELETE:
            await retention.deletion_given_up(services, key.ident, reason)
        elif key is not None and key.kind is WorkKind.LOOKUP:
            await _lookup_given_up(services, lease, reason)
    except Exception:  # telling people is best effort; the work is parked and logged either way
        log.exception("could not tell anyone that %s was given up on", lease.key)


async def _request_given_up(services: Services, request_id: str, reason: str) -> None:
    request = await services.store.get(request_id)
    if request is None:
        return
    sources = _NOTHING_MADE if request.create_attempted else (*_NOTHING_MADE, State.CREATING)
    ended = await move(
        services, request.id, State.CREATE_FAILED, *sources, error_code=GAVE_UP, error_msg=reason
    )
    current = ended or await services.store.get(request.id) or request
    await services.record(audit_entry(current, AuditAction.WORK_PARKED, detail=reason))
    # Only a create that may have reached the cloud can have started a backup.
    nothing_made = not (current.create_attempted or current.backup_id)
    await services.slack.tell_requester(current, notices.GaveUp(reason, nothing_made=nothing_made))
    if ended is not None:  # its buttons go, on the parent, every approver's DM copy and their Homes
        await services.slack.update_parent(ended)
        await home.changed(services, ended)


async def _lookup_given_up(services: Services, lease: Lease, reason: str) -> None:
    try:
        work = read(lease)
    except PoisonWork:
        return  # no response URL to trust
    if isinstance(work, AnswerLookup) and work.response_url:
        lang = as_lang(work.language or services.people.default)
        await services.slack.answer(work.response_url, notices.CloudFailed(reason), lang=lang)
