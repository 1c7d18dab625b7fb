"""Each person's App Home: the approvals waiting for them, their own requests, what is in flight.

Publishing is work (:class:`~bot.app.work.PublishHome`), coalesced: every change schedules the
person's publish a second ahead, and scheduling it again while it waits changes nothing, so many
changes within a second make one ``views.publish``. Homes are kept current only for people who
opened theirs in the last 30 days (:class:`~bot.store.home.HomeIndex`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.app.access import Person
from bot.app.requests import gate_of
from bot.app.services import Services
from bot.app.work import PublishHome, schedule
from bot.domain.gates import gated_globs, self_approval_allowed
from bot.domain.policy import Role
from bot.domain.request import BackupRequest, State
from bot.i18n import Lang
from bot.store.outcome import Outcome

log = logging.getLogger("bot.app.home")

COALESCE = 1.0  # seconds a Home waits for more changes before it is published
MINE = 10
WAITING = 10
IN_FLIGHT = 15
PENDING_PAGE = 200  # pending requests read at a time, soonest deadline first, for "Waiting for you"
PENDING_PAGES = 10  # at most this many pages for one Home (2,000 requests), then what was found shows


@dataclass(frozen=True)
class Home:
    """Everything one person's Home shows (the Slack adapter draws it)."""

    user_id: str
    lang: Lang
    role: Role | None  # None: not known yet
    waiting: tuple[BackupRequest, ...]  # pending requests they may decide
    mine: tuple[BackupRequest, ...]  # their latest requests, newest first
    in_flight: tuple[BackupRequest, ...]  # every backup being made now (for anyone with a role)
    more_in_flight: int = 0
    gated: tuple[str, ...] | None = None  # what waits for approval when they ask (None: everything)
    decides: bool = False  # whether they approve anything (the "Waiting for you" section shows)


async def opened(services: Services, user_id: str) -> None:
    """``user_id`` opened the Home tab: remember it, and publish theirs now."""
    await services.home.opened(user_id, await services.clock.now())
    await schedule(services.scheduler, PublishHome(user_id=user_id))


async def changed(services: Services, request: BackupRequest) -> None:
    """Something on the Homes of the request's requester and approvers changed: keep the indexes
    the Home reads in step, and publish theirs (only theirs: the in-flight list of everyone else
    refreshes when they next open it). A request has approvers once it waited for them, and their
    Homes change with it from then on: while it waits, and when it stops waiting by any way —
    decided, expired, given up on — its buttons leave their "Waiting for you"."""
    people = [request.user_id]
    if request.approvers:
        people += await services.access.user_ids(tuple(request.approvers))
    pending = request.state is State.PENDING_APPROVAL and request.deadline is not None
    watching = await services.home.changed(
        request.user_id,
        request.id,
        request.created_at.timestamp(),
        deadline=request.deadline if pending else None,
        people=list(dict.fromkeys(people)),
    )
    for user_id in watching:
        await schedule(services.scheduler, PublishHome(user_id=user_id), delay=COALESCE)


async def publish(services: Services, work: PublishHome) -> Outcome:
    home = await gather(services, work.user_id)
    await services.slack.publish_home(home)
    return Outcome.finished()


async def gather(services: Services, user_id: str) -> Home:
    record = await services.people.resolve(user_id)
    person = await services.access.person(user_id, ask_slack=True)
    role = services.access.role_of(person) if person is not None else None
    mine = [r for r in await services.store.get_many(await services.home.requests_of(user_id, MINE)) if r]
    await _permalinks(services, mine)
    waiting = await _waiting(services, person) if person is not None else []
    flying: list[BackupRequest] = []
    more = 0
    if role is not None and role >= Role.VIEWER:
        ids = await _in_flight_ids(services)
        more = max(0, len(ids) - IN_FLIGHT)
        flying = [r for r in await services.store.get_many(ids[:IN_FLIGHT]) if r is not None]
    return Home(
        user_id,
        record.lang,
        role,
        tuple(waiting),
        tuple(mine),
        tuple(flying),
        more,
        gated=gated_globs(services.policy, role) if role is not None else None,
        decides=bool(waiting) or (role is not None and role >= Role.APPROVER),
    )


async def _waiting(services: Services, person: Person) -> list[BackupRequest]:
    """The pending requests ``person`` may decide, soonest deadline first: everyone's pending
    requests read a page at a time until a section's worth is found (or ``PENDING_PAGES`` were
    read). Requests that no longer wait leave the index on the way."""
    waiting: list[BackupRequest] = []
    stale: list[str] = []
    read = 0
    for _ in range(PENDING_PAGES):
        ids = (await services.home.all_pending(read + PENDING_PAGE))[read:]
        read += len(ids)
        for request_id, request in zip(ids, await services.store.get_many(ids), strict=True):
            if request is None or request.state is not State.PENDING_APPROVAL:
                stale.append(request_id)
            elif _theirs_to_decide(services, request, person) and all(w.id != request_id for w in waiting):
                waiting.append(request)  # (once: a page may repeat one when the index moved on)
        if len(waiting) >= WAITING or len(ids) < PENDING_PAGE:
            break
    await services.home.settled(*stale)
    return waiting[:WAITING]


def _theirs_to_decide(services: Services, request: BackupRequest, person: Person) -> bool:
    """Whether ``person`` may decide ``request`` and has not approved it yet."""
    gate = gate_of(services, request)
    own = request.user_id == person.user_id and not self_approval_allowed(services.policy, gate)
    return services.access.may_approve(gate, person) and not own and person.user_id not in request.approvals


async def _in_flight_ids(services: Services) -> list[str]:
    found: list[tuple[float, str]] = []
    projects = services.cloud.projects if services.fleet is not None else ()
    for project in projects:
        found += [(started, rid) for rid, started in await services.store.in_flight(project.project_id)]
    return [rid for _, rid in sorted(found, reverse=True)]


async def _permalinks(services: Services, requests: list[BackupRequest]) -> None:
    """Each request's thread link, asked of Slack once and kept on the request."""
    for request in requests:
        if request.parent_ts and not request.permalink:
            link = await services.slack.permalink(request.channel_id, request.parent_ts)
            if link:
                request.permalink = link
                await services.store.update(request.id, permalink=link)
