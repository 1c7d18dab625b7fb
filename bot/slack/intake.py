"""Taking a backup request, the same way from the slash command and from the form: authorize from
the policy, then record it, schedule the worker and audit it in one atomic step — Redis only.

Answers are in the asker's language (``lang``). The request records that language only when the
cache knew it; otherwise it stays empty and the worker asks Slack before posting anything."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.policy import Role
from bot.domain.request import BackupRequest
from bot.i18n import Lang
from bot.services import Services
from bot.slack import blocks
from bot.store.audit import AuditAction, AuditEntry
from bot.worker.flow import request_key


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


async def refuse(services: Services, user_id: str, *, lang: str) -> blocks.Message:
    """Audit the refusal of someone with no role; the private answer names who can help."""
    await services.record(
        AuditEntry(actor=user_id, action=AuditAction.REFUSED, detail="no role in the policy")
    )
    return blocks.no_role(await services.access.mentions(Role.APPROVER), lang=lang)


async def refusal_for(services: Services, user_id: str, *, lang: str) -> blocks.Message | None:
    """The private refusal for someone with no role, or None when they may ask."""
    if await services.access.role(user_id) is Role.NONE:
        return await refuse(services, user_id, lang=lang)
    return None


@dataclass(frozen=True)
class Taken:
    message: blocks.Message  # the private acknowledgement, or the refusal
    refused: bool = False


async def take(services: Services, ask: Ask, *, dedupe_key: str, lang: str, known: Lang | None) -> Taken:
    """Record the request and schedule it; returns the private acknowledgement (or a refusal) in
    ``lang``. ``known`` is the asker's language when the cache knew it (stored on the request)."""
    role = await services.access.role(ask.user_id)
    if role is Role.NONE:
        return Taken(await refuse(services, ask.user_id, lang=lang), refused=True)
    request = BackupRequest(
        team_id=ask.team_id,
        channel_id=ask.channel_id,
        user_id=ask.user_id,
        instance_ref=ask.instance_ref,
        backup_name=ask.backup_name,
        description=ask.description,
        reference=ask.reference,
        response_url=ask.response_url,
        language=known or "",
        role=-1 if role is None else int(role),
    )
    # One script, one round trip: the request, its first work item, its audit entry and its count.
    request_id, _ = await services.intake.record(
        request,
        dedupe_key=dedupe_key,
        work_key=request_key(request.id),
        audit=AuditEntry(
            actor=ask.user_id,
            action=AuditAction.REQUESTED,
            request_id=request.id,
            backup_name=ask.backup_name,
            instance_name=ask.instance_ref,
            detail=ask.reference,
        ),
        counter=f"event|{AuditAction.REQUESTED.value}",
    )
    return Taken(blocks.received(request.model_copy(update={"id": request_id}), lang=lang))
