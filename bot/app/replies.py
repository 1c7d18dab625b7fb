"""A reply in a request's thread, posted once even when Slack's answer to the post is lost.

``chat.postMessage`` has no idempotency key, and the bot records a reply's ts (in the request field
the reply belongs to, its *slot*) only once Slack answered. Before a worker's run posts one, it marks
the slot as being posted, in Redis; the post itself is never sent a second time blindly (a 5xx or a
connection lost after sending fails the run). So a run that finds the mark already there, with no ts
recorded, knows an earlier run may have posted it unheard, and looks in the thread first (Slack's
answer lost to a timeout, a worker stopped or killed mid-post). Outside a worker's run (a parked
work's last word) nothing would look again, so Slack's own retries are kept there. The mark is
fenced by the run's lease: a run that stalled past it (another may have taken the work over) posts
nothing.
"""

from __future__ import annotations

from typing import Any

from bot.app.ports import ReplyKind, running
from bot.app.services import Services
from bot.domain.request import BackupRequest


async def reply_once(
    services: Services, request: BackupRequest, kind: ReplyKind, slot: str, **details: Any
) -> str:
    """The ts of the reply of ``kind`` that ``slot`` records: found in the thread when an earlier run
    began posting it, else posted now. The caller records it in ``slot``."""
    lease = running.get()
    if lease is None:
        return await services.slack.reply(request, kind, slot=slot, **details)
    # (fenced by the run's lease: a run that stalled past it posts nothing; LeaseLost ends it)
    if await services.store.mark_posting(request.id, slot, fence=services.scheduler.fence(lease)):
        found = await services.slack.find_reply(request, kind, slot)
        if found is not None:
            return found
    return await services.slack.reply(request, kind, slot=slot, once=True, **details)
