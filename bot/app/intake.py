"""Taking a backup request, the same way from the slash command and from the form: authorize from
the policy, then record it, schedule the worker and audit it in one atomic step — Redis only, so the
web process can do it before ``ack()``.

The request records the requester's language only when the cache knew it; otherwise it stays empty
and the worker asks Slack before posting anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.app.audit import event_counter
from bot.app.people import People
from bot.app.services import Services
from bot.app.work import AdvanceRequest
from bot.domain.audit import AuditAction, AuditEntry
from bot.domain.policy import Role, name_of
from bot.domain.request import BackupRequest
from bot.i18n import Lang


@dataclass(frozen=True)
class Ask:
    """What someone asked for, as typed or picked (already valid per the seed's rules)."""

    team_id: str
    channel_id: str
    user_id: str
    instance_ref: str
    backup_name: str
    description: str = ""
    reference: str = ""
    response_url: str = ""
    verify_channel: bool = False  # the channel was not named by Slack itself: check membership first
    keep: str = ""  # --keep / the form's "Keep for" ("" = the policy's default)
    at: str = ""  # --at / the form's start time ("" = at once), read by the worker in the user's zone


@dataclass(frozen=True)
class Accepted:
    request: BackupRequest  # as recorded (for a repeat: the first request's ID)


@dataclass(frozen=True)
class Refused:
    helpers: People  # who could help: the approvers


def _may_ask(role: Role | None) -> bool:
    """Requesters and above may ask; a viewer only reads. (None: not known yet, the worker decides.)"""
    return role is None or role >= Role.REQUESTER


async def refusal_for(services: Services, user_id: str) -> Refused | None:
    """The refusal (audited) for someone who may not ask for backups, or None when they may."""
    if not _may_ask(await services.access.role(user_id)):
        return await _refuse(services, user_id)
    return None


async def _refuse(services: Services, user_id: str) -> Refused:
    await services.record(
        AuditEntry(actor=user_id, action=AuditAction.REFUSED, detail="no role in the policy")
    )
    return Refused(await services.access.holding(Role.APPROVER))


async def take(
    services: Services, ask: Ask, *, dedupe_key: str, known: Lang | None, deadline: float | None = None
) -> Accepted | Refused:
    """Record the request and schedule it. ``known`` is the asker's language when the cache knew it
    (stored on the request); ``dedupe_key`` makes a repeat of the same Slack action one request;
    ``deadline`` (Redis time) makes a recording that starts later record nothing (``TooLate``)."""
    role = await services.access.role(ask.user_id)
    if not _may_ask(role):
        return await _refuse(services, ask.user_id)
    request = BackupRequest(
        team_id=ask.team_id,
        channel_id=ask.channel_id,
        user_id=ask.user_id,
        instance_ref=ask.instance_ref,
        backup_name=ask.backup_name,
        description=ask.description,
        reference=ask.reference,
        response_url=ask.response_url,
        verify_channel=ask.verify_channel,
        keep_asked=ask.keep,
        at_asked=ask.at,
        language=known or "",
        role="" if role is None else name_of(role),
    )
    work = AdvanceRequest(request_id=request.id)
    # One script, one round trip: the request, its first work item, its audit entry and its count.
    request_id, _ = await services.intake.record(
        request,
        dedupe_key=dedupe_key,
        work_key=str(work.key),
        work_payload=json.dumps(work.payload()),
        audit=AuditEntry(
            actor=ask.user_id,
            action=AuditAction.REQUESTED,
            request_id=request.id,
            backup_name=ask.backup_name,
            instance_name=ask.instance_ref,
            detail=ask.reference,
        ),
        counter=event_counter(AuditAction.REQUESTED),
        deadline=deadline,
    )
    # A repeat (Slack retried, a double submit) answers with the first request's ID.
    return Accepted(request if request_id == request.id else request.model_copy(update={"id": request_id}))
