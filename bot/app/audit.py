"""Recording what happened: the audit stream, the shared counters and, for decisions and results,
one line in ``AUDIT_CHANNEL`` (as scheduled work, so the web process makes no Slack call and a failed
post is retried)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app.work import PostAuditLine, schedule
from bot.domain.audit import AuditAction, AuditEntry
from bot.store.audit import AuditLog
from bot.store.counters import Counters
from bot.store.scheduler import Scheduler

CHANNEL_ACTIONS = frozenset(
    {
        AuditAction.APPROVED,
        AuditAction.REJECTED,
        AuditAction.EXPIRED,
        AuditAction.CREATE_FAILED,
        AuditAction.COMPLETED,
        AuditAction.FAILED,
        AuditAction.TIMED_OUT,
        AuditAction.CANCELLED,
        AuditAction.BREAK_GLASS,
        AuditAction.WORK_PARKED,
        AuditAction.DELETED,
        AuditAction.DELETED_ELSEWHERE,  # how a kept backup ended, as DELETED is
    }
)


def event_counter(action: AuditAction) -> str:
    """The shared counter an audit action increments (``backup_bot_events_total{kind}``)."""
    return f"event|{action.value}"


@dataclass
class AuditTrail:
    log: AuditLog
    counters: Counters
    scheduler: Scheduler
    channel: str | None = None

    async def record(self, entry: AuditEntry) -> None:
        stream_id = await self.log.append(entry)
        await self.counters.add(event_counter(entry.action))
        if self.channel and entry.action in CHANNEL_ACTIONS:
            await schedule(
                self.scheduler, PostAuditLine(entry_id=stream_id, channel=self.channel, entry=entry)
            )
