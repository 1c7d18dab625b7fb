"""Asking approvers where they are: with ``approval.notify: dm`` (or ``both``) each eligible approver
gets the approval request in a direct message, with working buttons. Every copy is recorded on the
request, so a decision made on any of them counts (the decision step checks the click came from one)
and updates all of them; the thread in the channel stays the record.

Eligible means able to decide, by the same rule the decision applies: one of the gate's approvers
(a guest in an approver group is not, unless the policy allows guests), never the requester unless
the gate lets them approve their own request. The request's details go to nobody else."""

from __future__ import annotations

import logging

from bot.app.requests import gate_of
from bot.app.services import Services
from bot.domain.gates import self_approval_allowed
from bot.domain.policy import Notify
from bot.domain.request import BackupRequest

log = logging.getLogger("bot.app.asking")

MAX_DMS = 50  # a request is not a broadcast: past this many approvers, the channel is the place


async def may_be_asked(services: Services, request: BackupRequest, user_id: str) -> bool:
    """Whether a click by ``user_id`` could count (a worker asks Slack about a user record it lacks;
    one Slack will not give counts as a guest)."""
    gate = gate_of(services, request)
    if user_id == request.user_id and not self_approval_allowed(services.policy, gate):
        return False
    person = await services.access.person(user_id, ask_slack=True)
    return person is not None and services.access.may_approve(gate, person)


async def ask_by_dm(services: Services, request: BackupRequest) -> None:
    """Send the approval request to every eligible approver who has no copy yet (a retried step sends
    none twice, except after a crash between Slack accepting a message and it being recorded)."""
    if not Notify(request.notify).by_dm:
        return
    asked = {copy[0] for copy in request.dm_copies if copy}
    copies = [list(copy) for copy in request.dm_copies]
    approvers = await services.access.user_ids(tuple(request.approvers))
    for user_id in approvers:
        if user_id in asked or not await may_be_asked(services, request, user_id):
            continue
        if len(asked) >= MAX_DMS:
            log.warning("%s: more than %d approvers; the rest were not asked by DM", request.id, MAX_DMS)
            return
        channel, ts = await services.slack.ask_approver(request, user_id)
        asked.add(user_id)
        copies.append([user_id, channel, ts])
        await services.store.update(request.id, dm_copies=copies)
