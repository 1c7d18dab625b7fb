"""What a process holds for its whole life: settings, the Redis client, the stores, the policy, the
cloud client (workers) and the Slack ports. Assembled once at start-up (:mod:`bot.bootstrap` for
production, :mod:`bot.local` for local mode), closed once at exit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.app.access import Access
from bot.app.audit import AuditTrail
from bot.app.ports import Directory, Notifier
from bot.app.users import UserProfiles
from bot.cloud.fleet import Fleet
from bot.config import Settings
from bot.domain.audit import AuditEntry
from bot.domain.policy import Policy
from bot.i18n import as_lang
from bot.store.audit import AuditLog
from bot.store.clock import RedisClock
from bot.store.connection import RedisClient
from bot.store.counters import Counters
from bot.store.decisions import Decisions
from bot.store.groups import GroupCache
from bot.store.home import HomeIndex
from bot.store.instances import InstanceCache
from bot.store.intake import Intake
from bot.store.requests import RequestStore
from bot.store.retention import RetentionStore
from bot.store.scheduler import Scheduler
from bot.store.settle import Settler
from bot.store.users import UserCache

Closer = Callable[[], Awaitable[object]]


@dataclass
class Services:
    settings: Settings
    redis: RedisClient
    policy: Policy
    scheduler: Scheduler
    settler: Settler  # a state change and its next work item in one step
    store: RequestStore
    intake: Intake
    decisions: Decisions
    clock: RedisClock
    audit_log: AuditLog
    counters: Counters
    groups: GroupCache
    instances: InstanceCache
    home: HomeIndex
    retention: RetentionStore
    access: Access
    trail: AuditTrail
    people: UserProfiles
    notifier: Notifier | None = None
    directory: Directory | None = None
    fleet: Fleet | None = None
    closers: list[Closer] = field(default_factory=list)

    @classmethod
    def assemble(
        cls,
        settings: Settings,
        redis: RedisClient,
        policy: Policy,
        *,
        notifier: Notifier | None = None,
        directory: Directory | None = None,
        fleet: Fleet | None = None,
    ) -> Services:
        """Every store and use-case collaborator over one Redis client (cheap: no I/O)."""
        scheduler = Scheduler(redis)
        counters = Counters(redis)
        audit_log = AuditLog(redis)
        groups = GroupCache(redis)
        people = UserProfiles(
            UserCache(redis),
            default=as_lang(settings.default_language),
            scheduler=scheduler,
            directory=directory,
        )
        return cls(
            settings=settings,
            redis=redis,
            policy=policy,
            scheduler=scheduler,
            settler=Settler(redis, scheduler),
            store=RequestStore(redis),
            intake=Intake(redis, scheduler),
            decisions=Decisions(redis, scheduler),
            clock=RedisClock(redis),
            audit_log=audit_log,
            counters=counters,
            groups=groups,
            instances=InstanceCache(redis),
            home=HomeIndex(redis),
            retention=RetentionStore(redis),
            access=Access(policy, groups, people),
            trail=AuditTrail(audit_log, counters, scheduler, settings.audit_channel),
            people=people,
            notifier=notifier,
            directory=directory,
            fleet=fleet,
        )

    async def record(self, entry: AuditEntry) -> None:
        await self.trail.record(entry)

    @property
    def slack(self) -> Notifier:
        """The notifier (workers always have one)."""
        if self.notifier is None:
            raise RuntimeError("this process has no Slack notifier")
        return self.notifier

    @property
    def cloud(self) -> Fleet:
        """Every project's TaurusDB client (workers always have them)."""
        if self.fleet is None:
            raise RuntimeError("this process has no TaurusDB clients")
        return self.fleet

    async def close(self) -> None:
        for close in reversed(self.closers):
            await close()
        await self.redis.aclose()
