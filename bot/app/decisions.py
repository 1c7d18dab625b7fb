"""A person's decision on a pending request: authorize them from the policy, then one atomic step
(:mod:`bot.store.decisions`) that checks the state, the deadline (Redis's clock), the message the
click came from and earlier approvals, and changes the state. Of two managers clicking at once
exactly one wins; the other learns who did. A click after the deadline expires the request instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.app.people import People
from bot.app.requests import audit_entry
from bot.app.services import Services
from bot.app.work import AdvanceRequest, schedule
from bot.domain.audit import AuditAction
from bot.domain.policy import Refusal as PolicyRefusal
from bot.domain.policy import Role, can_decide
from bot.domain.request import BackupRequest, State, utcnow
from bot.store.decisions import Action, Outcome


@dataclass(frozen=True)
class Gone:
    """No such request (expired from Redis, or a forged ID)."""


@dataclass(frozen=True)
class Closed:
    """Someone decided first, the deadline passed, or the request ended otherwise."""

    request: BackupRequest


@dataclass(frozen=True)
class NotAllowed:
    reason: PolicyRefusal
    helpers: People


@dataclass(frozen=True)
class Elsewhere:
    """The click came from a message that does not show this request."""


@dataclass(frozen=True)
class AlreadyYours:
    """This approver approved before; more approvals are needed."""

    request: BackupRequest


@dataclass(frozen=True)
class Unavailable:
    """Redis did not answer in time: nothing was recorded."""


Refusal = Gone | Closed | NotAllowed | Elsewhere | AlreadyYours | Unavailable


@dataclass(frozen=True)
class Decision:
    request: BackupRequest | None
    refusal: Refusal | None = None  # why nothing changed (a private answer to the clicker)
    recorded: bool = False  # an approval was counted but more are needed


async def may_decide(services: Services, request: BackupRequest, user_id: str) -> bool:
    """What only the policy can say: is ``user_id`` an approver for this request at all."""
    role = await services.access.role(user_id) or Role.NONE
    verdict = can_decide(services.policy, role, user_id, request.user_id)
    return verdict.reason is not PolicyRefusal.NOT_AN_APPROVER


async def check(services: Services, request_id: str, user_id: str) -> Decision:
    """Could ``user_id`` decide ``request_id`` now? Nothing changes; :func:`decide` checks again, in
    the step that counts (this only spares someone a reject form they could not submit)."""
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
    services: Services,
    request_id: str,
    user_id: str,
    *,
    approve: bool,
    reason: str = "",
    seen: tuple[str, str] | None = None,
    deadline: float | None = None,
) -> Decision:
    """Approve or reject. ``seen``: the (channel, ts) of the message clicked; ``deadline``: Redis
    time after which the step must change nothing (the web's answer to Slack is due)."""
    request = await services.store.get(request_id)
    if request is None:
        return Decision(None, Gone())
    verdict = await services.decisions.decide(
        request_id,
        Action.APPROVE if approve else Action.REJECT,
        user_id,
        may=await may_decide(services, request, user_id),
        allow_self=services.policy.allow_self_approval,
        seen=seen,
        reason=reason,
        now=utcnow(),
        deadline=deadline,
    )
    match verdict.outcome:
        case Outcome.LATE:
            return Decision(request, Unavailable())
        case Outcome.GONE:
            return Decision(None, Gone())
        case Outcome.ELSEWHERE:
            return Decision(request, Elsewhere())
        case Outcome.NOT_ALLOWED | Outcome.OWN_REQUEST:
            why = PolicyRefusal.OWN_REQUEST if verdict.outcome is Outcome.OWN_REQUEST else None
            helpers = await services.access.holding(Role.APPROVER)
            return Decision(request, NotAllowed(why or PolicyRefusal.NOT_AN_APPROVER, helpers))
    current = await services.store.get(request_id)
    if current is None:
        return Decision(None, Gone())
    match verdict.outcome:
        case Outcome.CLOSED:
            return Decision(current, Closed(current))
        case Outcome.ALREADY_YOURS:
            return Decision(current, AlreadyYours(current))
        case Outcome.EXPIRED:
            await services.record(audit_entry(current, AuditAction.EXPIRED))
            await schedule(services.scheduler, AdvanceRequest(request_id=request_id))
            return Decision(current, Closed(current))
        case Outcome.RECORDED:
            await services.record(audit_entry(current, AuditAction.APPROVED, actor=user_id, detail=reason))
            return Decision(current, recorded=True)
    action = AuditAction.APPROVED if verdict.outcome is Outcome.APPROVED else AuditAction.REJECTED
    await schedule(services.scheduler, AdvanceRequest(request_id=request_id))
    await services.record(audit_entry(current, action, actor=user_id, detail=reason))
    return Decision(current)
