"""Approve or reject a pending request: authorize the clicker from the policy, then one atomic
compare-and-set. Of two managers clicking at once exactly one wins; the other learns who did."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app.people import People
from bot.app.services import Services
from bot.app.work import AdvanceRequest, schedule
from bot.domain.audit import AuditAction, AuditEntry
from bot.domain.policy import Refusal as PolicyRefusal
from bot.domain.policy import Role, can_decide
from bot.domain.request import BackupRequest, State
from bot.store.requests import TransitionRefused


@dataclass(frozen=True)
class Gone:
    """No such request (expired from Redis, or a forged ID)."""


@dataclass(frozen=True)
class Closed:
    """Someone decided first, or the request ended otherwise."""

    request: BackupRequest


@dataclass(frozen=True)
class NotAllowed:
    reason: PolicyRefusal
    helpers: People


Refusal = Gone | Closed | NotAllowed


@dataclass(frozen=True)
class Decision:
    request: BackupRequest | None
    refusal: Refusal | None  # why nothing changed (a private answer to the clicker)


async def check(services: Services, request_id: str, user_id: str) -> Decision:
    """May ``user_id`` decide ``request_id`` now? (No change is made.)"""
    request = await services.store.get(request_id)
    if request is None:
        return Decision(None, Gone())
    if request.state is not State.PENDING_APPROVAL:
        return Decision(request, Closed(request))
    role = await services.access.role(user_id) or Role.NONE
    verdict = can_decide(services.policy, role, user_id, request.user_id)
    if verdict.reason is not None:
        return Decision(request, NotAllowed(verdict.reason, await services.access.holding(Role.APPROVER)))
    return Decision(request, None)


async def decide(
    services: Services, request_id: str, user_id: str, *, approve: bool, reason: str = ""
) -> Decision:
    allowed = await check(services, request_id, user_id)
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
        return Decision(current, Closed(current) if current else Gone())
    await schedule(services.scheduler, AdvanceRequest(request_id=request_id))
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
