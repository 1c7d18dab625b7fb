"""Asking approvers where they are: with ``approval.notify: dm`` (or ``both``) each eligible approver
gets the approval request in a direct message, with working buttons. Every copy is recorded on the
request, so a decision made on any of them counts (the decision step checks the click came from one)
and updates all of them; the thread in the channel stays the record."""

from __future__ import annotations

import logging

from bot.app.services import Services
from bot.domain.policy import Notify
from bot.domain.request import BackupRequest

log = logging.getLogger("bot.app.asking")

MAX_DMS = 50  # a request is not a broadcast: past this many approvers, the channel is the place


async def ask_by_dm(services: Services, request: BackupRequest) -> None:
    """Send the approval request to every approver who has no copy yet (a retried step sends none
    twice, except after a crash between Slack accepting a message and it being recorded)."""
    if not Notify(request.notify).by_dm:
        return
    approvers = await services.access.user_ids(tuple(request.approvers))
    asked = {copy[0] for copy in request.dm_copies if copy}
    copies = [list(copy) for copy in request.dm_copies]
    for user_id in approvers[:MAX_DMS]:
        if user_id in asked or (user_id == request.user_id and not services.policy.allow_self_approval):
            continue
        channel, ts = await services.slack.ask_approver(request, user_id)
        copies.append([user_id, channel, ts])
        await services.store.update(request.id, dm_copies=copies)
    if len(approvers) > MAX_DMS:
        log.warning(
            "%s: %d approvers; only the first %d were asked by DM", request.id, len(approvers), MAX_DMS
        )
