"""What a process holds for its whole life: settings, the Redis pool, stores, the Slack client and
(for workers) the one TaurusDB client. Built once at start-up, closed once at exit."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import aiohttp
import httpx
import redis.asyncio as aioredis
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Access
from bot.cloud.client import TaurusDB
from bot.cloud.factory import LOCAL_PROJECT_ID, build_taurusdb
from bot.config import CloudAuth, ConfigError, Settings
from bot.domain.policy import Policy, PolicyError, load_policy
from bot.local.simulator import RunningSimulator, SimulatorConfig, start_simulator
from bot.observability import Counters
from bot.slack.client import build_web_client
from bot.store.audit import AuditAction, AuditEntry, AuditLog, audit_line
from bot.store.groups import GroupCache
from bot.store.instances import InstanceCache
from bot.store.intake import Intake
from bot.store.requests import RequestStore
from bot.store.scheduler import Scheduler

log = logging.getLogger("bot.services")


CHANNEL_ACTIONS = frozenset(
    {
        AuditAction.APPROVED,
        AuditAction.REJECTED,
        AuditAction.EXPIRED,
        AuditAction.CREATE_FAILED,
        AuditAction.COMPLETED,
        AuditAction.FAILED,
        AuditAction.TIMED_OUT,
    }
)


@dataclass
class Services:
    settings: Settings
    redis: aioredis.Redis
    store: RequestStore
    scheduler: Scheduler
    slack: AsyncWebClient
    project_id: str
    policy: Policy
    access: Access
    audit: AuditLog
    instances: InstanceCache
    counters: Counters
    intake: Intake
    cloud: TaurusDB | None = None
    _closers: list[httpx.AsyncClient] = field(default_factory=list)
    _slack_session: aiohttp.ClientSession | None = None
    _simulator: RunningSimulator | None = None

    async def record(self, entry: AuditEntry) -> None:
        """Append to the audit trail; decisions and results also go to AUDIT_CHANNEL (as scheduled
        work, so the web process makes no Slack call and a failed post is retried)."""
        stream_id = await self.audit.append(entry)
        await self.counters.add(f"event|{entry.action.value}")
        if self.settings.audit_channel and entry.action in CHANNEL_ACTIONS:
            await self.scheduler.schedule(
                f"auditpost:{stream_id}", {"channel": self.settings.audit_channel, "line": audit_line(entry)}
            )

    async def close(self) -> None:
        for client in self._closers:
            await client.aclose()
        if self._slack_session is not None:
            await self._slack_session.close()
        if self._simulator is not None:
            await self._simulator.stop()
        await self.redis.aclose()


def redis_client(url: str, *, max_connections: int = 64) -> aioredis.Redis:
    """A bounded pool; callers warm it at start-up so the first burst does not pay for connects."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=2, socket_connect_timeout=2, socket_timeout=5
    )
    return aioredis.Redis(connection_pool=pool, decode_responses=False)


async def warm(redis: aioredis.Redis, connections: int = 8) -> None:
    """Open a few pooled connections now (a cold pool costs a connect per request in a burst)."""
    await asyncio.gather(*(redis.ping() for _ in range(connections)))


def policy_from(settings: Settings) -> Policy:
    """The policy file, or the open default; a malformed file stops start-up naming line and problem."""
    if settings.policy_file is None:
        return Policy.open_default()
    try:
        return load_policy(settings.policy_file)
    except PolicyError as exc:
        raise ConfigError(f"invalid configuration:\n  BACKUP_POLICY_FILE: {exc}") from None


async def open_services(settings: Settings, *, redis_url: str, with_cloud: bool) -> Services:
    policy = policy_from(settings)
    redis = redis_client(redis_url)
    scheduler = Scheduler(redis)
    await warm(redis)
    slack_session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    project_id = settings.project_id or LOCAL_PROJECT_ID
    services = Services(
        settings=settings,
        redis=redis,
        store=RequestStore(redis),
        scheduler=scheduler,
        slack=build_web_client(settings, session=slack_session),
        project_id=project_id,
        policy=policy,
        access=Access(policy, GroupCache(redis)),
        audit=AuditLog(redis),
        instances=InstanceCache(redis),
        counters=Counters(redis),
        intake=Intake(redis, scheduler),
        _slack_session=slack_session,
    )
    if with_cloud:
        endpoint = settings.cloud_endpoint
        if settings.cloud_auth is CloudAuth.NONE and endpoint is None:
            services._simulator = await start_simulator(SimulatorConfig(project_id=project_id))
            endpoint = services._simulator.url
            log.warning(
                "NO CLOUD CREDENTIALS: talking to the built-in TaurusDB simulator at %s, not Huawei Cloud",
                endpoint,
            )
        elif settings.cloud_auth is CloudAuth.NONE:
            log.warning("NO CLOUD CREDENTIALS: talking to the TaurusDB simulator at %s", endpoint)
        cloud, http = build_taurusdb(settings, endpoint_override=endpoint)
        http.event_hooks["response"].append(services.counters.cloud_hook())
        services.cloud = cloud
        services._closers.append(http)
    return services
