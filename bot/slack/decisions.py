"""Approve or reject a pending request: authorize the clicker from the policy, then one atomic
compare-and-set. Of two managers clicking at once exactly one wins; the other learns who did."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.policy import Role, can_decide
from bot.domain.request import BackupRequest, State
from bot.services import Services
from bot.slack import blocks
from bot.store.audit import AuditAction, AuditEntry
from bot.store.requests import TransitionRefused
from bot.worker.flow import request_key


@dataclass(frozen=True)
class Decision:
    request: BackupRequest | None
    refusal: blocks.Message | None  # private answer to the clicker when nothing changed


async def check(services: Services, request_id: str, user_id: str, *, lang: str) -> Decision:
    """May ``user_id`` decide ``request_id`` now? (No change is made.) A refusal is private to the
    clicker, so it is in their language (``lang``), not the requester's."""
    request = await services.store.get(request_id)
    if request is None:
        return Decision(None, blocks.request_gone(lang=lang))
    if request.state is not State.PENDING_APPROVAL:
        return Decision(request, blocks.already_decided(request, lang=lang))
    role = await services.access.role(user_id) or Role.NONE
    verdict = can_decide(services.policy, role, user_id, request.user_id)
    if verdict.reason is not None:
        helpers = await services.access.mentions(Role.APPROVER)
        return Decision(request, blocks.cannot_decide(verdict.reason.value, helpers, lang=lang))
    return Decision(request, None)


async def decide(
    services: Services, request_id: str, user_id: str, *, approve: bool, lang: str, reason: str = ""
) -> Decision:
    allowed = await check(services, request_id, user_id, lang=lang)
    if allowed.refusal is not None:
        return allowed
    target = State.APPROVED if approve else State.REJECTED
    try:
        request = await services.store.transition(
            request_id,
            target,
            from_states=[State.PENDING_APPROVAL],
            decided_by=user_id,
            decision_reason=reason,
        )
    except TransitionRefused:
        current = await services.store.get(request_id)
        refusal = blocks.already_decided(current, lang=lang) if current else blocks.request_gone(lang=lang)
        return Decision(current, refusal)
    await services.scheduler.schedule(request_key(request_id), {})
    await services.record(
        AuditEntry(
            actor=user_id,
            action=AuditAction.APPROVED if approve else AuditAction.REJECTED,
            request_id=request.id,
            instance_id=request.instance_id,
            instance_name=request.instance_name,
            backup_name=request.backup_name,
            detail=reason,
        )
    )
    return Decision(request, None)
