"""A person's decision on a pending request — approve, reject, cancel, break glass — authorized from
the policy, then one atomic step (:mod:`bot.store.decisions`) that checks the state, the deadline
(Redis's clock), the message the click came from and earlier approvals, and changes the state. Of
two managers clicking at once exactly one wins; the other learns who did. A click after the deadline
expires the request instead. Nothing else in the bot decides whether a decision counts.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.app import home
from bot.app.access import Person
from bot.app.people import People
from bot.app.requests import audit_entry, gate_of
from bot.app.services import Services
from bot.app.work import AdvanceRequest
from bot.domain.audit import AuditAction, AuditEntry
from bot.domain.gates import Gate, Refusal, self_approval_allowed
from bot.domain.policy import Role
from bot.domain.request import BackupRequest, State, utcnow
from bot.store.decisions import Action, Outcome, Verdict


@dataclass(frozen=True)
class Gone:
    """No such request (expired from Redis, or a forged ID)."""


@dataclass(frozen=True)
class Closed:
    """Someone decided first, the deadline passed, or the request ended otherwise."""

    request: BackupRequest


@dataclass(frozen=True)
class Started:
    """Too late to cancel: the backup is being made (or was)."""

    request: BackupRequest


@dataclass(frozen=True)
class NotAllowed:
    reason: Refusal
    helpers: People


@dataclass(frozen=True)
class NotYours:
    """Only the requester may do this (break the glass), or the requester and approvers (cancel)."""


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


@dataclass(frozen=True)
class Unsettled:
    """Whether this person may do it turns on what only Slack can say (are they a guest?), and the
    caller could not ask (a slash command's answer is its acknowledgement), or on groups not synced
    yet: nothing was recorded, and nothing about the request was told. A slash command acknowledges
    first and asks again with ``ask_slack``."""


@dataclass(frozen=True)
class NoRole:
    """The person holds no role in the policy (and approves no request of a rule's): refused as a
    read is, and told nothing of the request — not whether it exists."""

    helpers: People


Refused = (
    Gone
    | Closed
    | Started
    | NotAllowed
    | NotYours
    | Elsewhere
    | AlreadyYours
    | Unavailable
    | Unsettled
    | NoRole
)


@dataclass(frozen=True)
class Decision:
    request: BackupRequest | None
    refusal: Refused | None = None  # why nothing changed (a private answer to the clicker)
    recorded: bool = False  # an approval was counted but more are needed


NO_ROLE = "no role to read"  # the audit's word for it, as for /backup status


@dataclass(frozen=True)
class Vetted:
    """Someone who may be told about the request (``request`` None: there is none): they hold a
    role, approve its gate, or asked about their own request before their role was known."""

    request: BackupRequest | None
    person: Person | None  # None: their groups are not known yet
    role: Role | None  # None: not known yet (then this is their own request)


async def vet(
    services: Services,
    user_id: str,
    find: Callable[[], Awaitable[BackupRequest | None]],
    *,
    ask_slack: bool = True,
) -> Vetted | NoRole | Unsettled:
    """Who asks, settled before anything about a request (what ``find`` reads) is told. Nothing is
    told — not whether it exists, nor its state — to someone with no role (a refusal audited as a
    read's is) unless they are the approvers a rule names for it; nor, until their role is known, to
    anyone but its requester (``ask_slack`` False: the caches only, and a caller that cannot ask
    Slack now asks again after its acknowledgement)."""
    access = services.access
    person = await access.person(user_id, ask_slack=ask_slack)
    role = None if person is None else access.role_of(person)
    if person is not None and role is Role.NONE:
        # A rule's approvers need hold no role: they are told about what they approve, nobody else.
        could = {access.approves(Gate(rule.approvers), person) for rule in services.policy.rules}
        if None in could:
            return Unsettled()
        request = await find() if True in could else None
        if request is None or access.approves(gate_of(services, request), person) is not True:
            await services.record(AuditEntry(actor=user_id, action=AuditAction.REFUSED, detail=NO_ROLE))
            return NoRole(await access.holding(Role.APPROVER))
        return Vetted(request, person, role)
    request = await find()
    if role is None and (request is None or request.user_id != user_id):
        return Unsettled()  # perhaps someone with no role: nothing until it is known
    return Vetted(request, person, role)


async def check(services: Services, request_id: str, user_id: str) -> Decision:
    """Could ``user_id`` decide ``request_id`` now? Nothing changes; :func:`decide` checks again, in
    the step that counts (this only spares someone a reject form they could not submit)."""
    vetted = await vet(services, user_id, lambda: services.store.get(request_id))
    if not isinstance(vetted, Vetted):
        return Decision(None, vetted)
    request, person = vetted.request, vetted.person
    if request is None:
        return Decision(None, Gone())
    if (closed := await _closed(services, request)) is not None:
        return Decision(request, closed)
    gate = gate_of(services, request)
    if person is None or not services.access.may_approve(gate, person):
        return Decision(
            request, NotAllowed(Refusal.NOT_AN_APPROVER, await services.access.named(gate.approvers))
        )
    if user_id == request.user_id and not self_approval_allowed(services.policy, gate):
        return Decision(request, NotAllowed(Refusal.OWN_REQUEST, People()))
    return Decision(request, None)


async def may_break_glass(services: Services, request_id: str, user_id: str) -> Decision:
    """Could ``user_id`` break the glass on ``request_id`` now? Nothing changes (this spares someone a
    form they could not submit; :func:`break_glass` checks again, in the step that counts)."""
    vetted = await vet(services, user_id, lambda: services.store.get(request_id))
    if not isinstance(vetted, Vetted):
        return Decision(None, vetted)
    request = vetted.request
    if request is None:
        return Decision(None, Gone())
    if (closed := await _closed(services, request)) is not None:
        return Decision(request, closed)
    if not _may(services, request, vetted.person, user_id, Action.BREAK_GLASS):
        return Decision(request, NotYours())
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
    return await _act(
        services,
        request_id,
        user_id,
        Action.APPROVE if approve else Action.REJECT,
        reason=reason,
        seen=seen,
        deadline=deadline,
    )


async def cancel(
    services: Services,
    request_id: str,
    user_id: str,
    *,
    reason: str = "",
    seen: tuple[str, str] | None = None,
    deadline: float | None = None,
    ask_slack: bool = True,
) -> Decision:
    """Its requester (or one of its approvers) calls a pending request off."""
    return await _act(
        services,
        request_id,
        user_id,
        Action.CANCEL,
        reason=reason,
        seen=seen,
        deadline=deadline,
        ask_slack=ask_slack,
    )


async def break_glass(
    services: Services,
    request_id: str,
    user_id: str,
    *,
    reason: str,
    seen: tuple[str, str] | None = None,
    deadline: float | None = None,
) -> Decision:
    """A requester the policy allows starts their own pending request at once, saying why."""
    return await _act(
        services, request_id, user_id, Action.BREAK_GLASS, reason=reason, seen=seen, deadline=deadline
    )


async def _closed(services: Services, request: BackupRequest) -> Closed | None:
    """Why nobody may decide ``request`` any more, or None while it waits: its state, or its deadline
    by Redis's clock, as the decision step checks it (the expiry work may be late). Nothing changes
    here, so an expired request is shown as what it is: the expiry work, or a decision, records it."""
    if request.state is not State.PENDING_APPROVAL:
        return Closed(request)
    if request.deadline is not None and await services.clock.now() >= request.deadline:
        return Closed(request.model_copy(update={"state": State.EXPIRED}))
    return None


def _may(
    services: Services, request: BackupRequest, person: Person | None, user_id: str, action: Action
) -> bool | None:
    """What only the policy can say about this person (as :func:`vet` found them: from Slack after
    a click's acknowledgement, from the caches for a slash command) and this request; None says the
    caches could not tell."""
    if action is Action.CANCEL and user_id == request.user_id:
        return True  # their own request: nothing about them needs knowing
    if person is None:
        return False  # the group cache is cold: nobody can be shown to be an approver yet
    if action is Action.BREAK_GLASS:
        return user_id == request.user_id and services.access.may_break_glass(person)
    return services.access.approves(gate_of(services, request), person)


async def _act(
    services: Services,
    request_id: str,
    user_id: str,
    action: Action,
    *,
    reason: str,
    seen: tuple[str, str] | None,
    deadline: float | None,
    ask_slack: bool = True,
) -> Decision:
    vetted = await vet(services, user_id, lambda: services.store.get(request_id), ask_slack=ask_slack)
    if not isinstance(vetted, Vetted):
        return Decision(None, vetted)
    request = vetted.request
    if request is None:
        return Decision(None, Gone())
    may = _may(services, request, vetted.person, user_id, action)
    if may is None:
        return Decision(request, Unsettled())
    next_step = AdvanceRequest(request_id=request_id)
    verdict = await services.decisions.decide(
        request_id,
        action,
        user_id,
        may=may,
        allow_self=self_approval_allowed(services.policy, gate_of(services, request)),
        seen=seen,
        reason=reason,
        now=utcnow(),
        then=(str(next_step.key), json.dumps(next_step.payload())),
        deadline=deadline,
    )
    return await _settle(services, request, user_id, action, verdict, reason)


_STARTED = frozenset(
    {State.APPROVED, State.CREATING, State.BUILDING, State.COMPLETED, State.FAILED, State.TIMED_OUT}
)
_AUDITED = {
    Outcome.APPROVED: AuditAction.APPROVED,
    Outcome.REJECTED: AuditAction.REJECTED,
    Outcome.CANCELLED: AuditAction.CANCELLED,
}


async def _settle(
    services: Services, request: BackupRequest, user_id: str, action: Action, verdict: Verdict, reason: str
) -> Decision:
    match verdict.outcome:
        case Outcome.LATE:
            return Decision(request, Unavailable())
        case Outcome.GONE:
            return Decision(None, Gone())
        case Outcome.ELSEWHERE:
            return Decision(request, Elsewhere())
        case Outcome.NOT_ALLOWED if action in (Action.CANCEL, Action.BREAK_GLASS):
            return Decision(request, NotYours())
        case Outcome.NOT_ALLOWED | Outcome.OWN_REQUEST:
            gate = gate_of(services, request)
            if verdict.outcome is Outcome.OWN_REQUEST:
                return Decision(request, NotAllowed(Refusal.OWN_REQUEST, People()))
            return Decision(
                request, NotAllowed(Refusal.NOT_AN_APPROVER, await services.access.named(gate.approvers))
            )
    current = await services.store.get(request.id)
    if current is None:
        return Decision(None, Gone())
    match verdict.outcome:
        case Outcome.CLOSED if action is Action.CANCEL and current.state in _STARTED:
            return Decision(current, Started(current))
        case Outcome.CLOSED:
            return Decision(current, Closed(current))
        case Outcome.ALREADY_YOURS:
            return Decision(current, AlreadyYours(current))
        case Outcome.EXPIRED:  # its next step is scheduled by the same step
            await services.record(audit_entry(current, AuditAction.EXPIRED))
            return Decision(current, Closed(current))
        case Outcome.RECORDED:
            await services.record(audit_entry(current, AuditAction.APPROVAL_RECORDED, actor=user_id))
            await home.changed(services, current)  # the state stays: no worker step will say so
            return Decision(current, recorded=True)
    audited = AuditAction.BREAK_GLASS if action is Action.BREAK_GLASS else _AUDITED[verdict.outcome]
    await services.record(audit_entry(current, audited, actor=user_id, detail=reason))
    return Decision(current)
