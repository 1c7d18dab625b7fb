"""One handler per kind of work: read the lease into its typed item, call the use case.

:func:`handlers` maps every :class:`~bot.store.work.WorkKind` to its handler (a unit test checks that
none is missing); the runner picks the handler by the work key's kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.app import home, housekeeping, lookups, planned, retention, work
from bot.app.lifecycle import RequestFlow
from bot.app.polling import Poller
from bot.app.ports import running
from bot.app.services import Services
from bot.store.outcome import Outcome
from bot.store.scheduler import Lease
from bot.store.work import WorkKind
from bot.worker.runner import Handler

W = TypeVar("W", bound=work.Work)


# Failed tries in a row before a kind of work is given up on (parked). A poll tick or a group sync
# that succeeds starts counting again, so these count only failures that keep happening.
ATTEMPTS: dict[WorkKind, int] = {
    WorkKind.REQUEST: 8,
    WorkKind.EXPIRE: 8,
    WorkKind.POLL: 30,
    WorkKind.LOOKUP: 4,
    WorkKind.LOCALE: 4,
    WorkKind.INSTANCES: 4,
    WorkKind.GROUPS: 20,
    WorkKind.AUDIT_POST: 6,
    WorkKind.HOME: 4,
    WorkKind.START: 8,
    WorkKind.DELETE: 8,  # a refused deletion is said once in the thread, then tried again
    WorkKind.DELETE_NOTICE: 6,
}


def _typed(kind: type[W], handle: Callable[[W, Lease], Awaitable[Outcome]]) -> Handler:
    async def run(lease: Lease) -> Outcome:
        try:
            item = work.read(lease)
        except work.PoisonWork as exc:
            return Outcome.give_up(f"unreadable work: {exc}")  # no try of it can ever succeed
        if not isinstance(item, kind):  # pragma: no cover - the kind picked this handler
            return Outcome.give_up(f"{lease.key} is not a {kind.__name__}")
        token = running.set(lease)
        try:
            return await handle(item, lease)
        finally:
            running.reset(token)

    return run


def handlers(services: Services) -> dict[str, Handler]:
    flow = RequestFlow(services)
    poller = Poller(
        store=services.store,
        scheduler=services.scheduler,
        settler=services.settler,
        fleet=services.cloud,
        slack=services.slack,
        interval=services.settings.poll_interval,
        timeout=services.settings.poll_timeout,
        shown=lambda request: home.changed(services, request),
    )

    async def learn_locale(item: work.LearnLocale, _: Lease) -> Outcome:
        await services.people.resolve(item.user_id)
        return Outcome.finished()

    table: dict[WorkKind, Handler] = {
        WorkKind.REQUEST: _typed(work.AdvanceRequest, lambda item, _: flow.advance(item)),
        WorkKind.EXPIRE: _typed(work.ExpireRequest, lambda item, _: flow.expire(item)),
        WorkKind.POLL: _typed(work.PollProject, lambda item, _: poller.tick(item)),
        WorkKind.LOOKUP: _typed(work.AnswerLookup, lambda item, _: lookups.answer(services, item)),
        WorkKind.LOCALE: _typed(work.LearnLocale, learn_locale),
        WorkKind.INSTANCES: _typed(
            work.RefreshInstances, lambda _, lease: housekeeping.refresh_instances(services, lease)
        ),
        WorkKind.GROUPS: _typed(work.SyncGroups, lambda _, __: housekeeping.sync_groups(services)),
        WorkKind.AUDIT_POST: _typed(
            work.PostAuditLine, lambda item, _: housekeeping.post_audit(services, item)
        ),
        WorkKind.HOME: _typed(work.PublishHome, lambda item, _: home.publish(services, item)),
        WorkKind.START: _typed(work.StartRequest, lambda item, _: planned.start(services, item)),
        WorkKind.DELETE: _typed(
            work.DeleteBackup, lambda item, lease: retention.delete(services, item, lease.attempt)
        ),
        WorkKind.DELETE_NOTICE: _typed(work.NoticeDeletion, lambda item, _: retention.notice(services, item)),
    }
    return {kind.value: handler for kind, handler in table.items()}
