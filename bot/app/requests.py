"""Small steps every request use case shares: an audit entry about a request, and a state change
that either wins or quietly loses to whoever moved the request first (with its next work item in
the same step, where the move must never happen without it)."""

from __future__ import annotations

import logging

from bot.app.services import Services
from bot.app.work import AdvanceRequest
from bot.cloud.client import TaurusDB
from bot.domain.audit import BOT_ACTOR, AuditAction, AuditEntry
from bot.domain.gates import Gate
from bot.domain.policy import Role
from bot.domain.request import BackupRequest, State, instance_label
from bot.store.requests import TransitionRefused
from bot.store.settle import Move

log = logging.getLogger("bot.app.requests")


def cloud_of(services: Services, request: BackupRequest) -> TaurusDB:
    """The client of the project the request's instance is in (the one project for a request
    recorded before fleets, which names no region)."""
    return services.cloud.client(request.region or None)


def project_of(services: Services, request: BackupRequest) -> str:
    return request.project_id or cloud_of(services, request).project_id


def gate_of(services: Services, request: BackupRequest) -> Gate:
    """The gate the request waits at, as recorded when it started waiting (a request recorded before
    gates were stored waits at the policy's default gate)."""
    approvers = tuple(request.approvers) or services.policy.members(Role.APPROVER)
    return Gate(approvers, max(1, request.approvals_needed), request.gate_rule)


def audit_entry(
    request: BackupRequest, action: AuditAction, *, actor: str = BOT_ACTOR, detail: str = ""
) -> AuditEntry:
    return AuditEntry(
        actor=actor,
        action=action,
        request_id=request.id,
        instance_id=request.instance_id,
        instance_name=instance_label(request) or request.instance_ref,
        backup_name=request.backup_name,
        backup_id=request.backup_id,
        cloud_request_id=request.cloud_request_id,
        detail=detail,
    )


async def move(
    services: Services, request_id: str, target: State, *sources: State, **fields: object
) -> BackupRequest | None:
    """Move the request to ``target`` from one of ``sources`` (writing ``fields`` in the same atomic
    step); the request as moved, or None when another step won."""
    try:
        return await services.store.transition(request_id, target, from_states=sources, **fields)
    except TransitionRefused as exc:
        log.info("%s: %s (another step won)", request_id, exc)
        return None


async def move_and_advance(services: Services, request_id: str, target: State, *sources: State) -> bool:
    """Move the request to ``target`` from one of ``sources`` and schedule its next step in the same
    atomic step: True for the one caller that moved it. (Moved first and scheduled after, a crash or a
    failed call between the two would leave it in ``target`` with nothing to move it on.)"""
    work = AdvanceRequest(request_id=request_id)
    step = Move(request_id, target, sources, str(work.key), work.payload())
    [moved] = await services.settler.settle([step])
    if not moved:
        log.info("%s: not moved to %s (another step won)", request_id, target)
    return moved
