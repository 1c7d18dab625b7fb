"""The instances the backup form offers, from the cache the workers fill (web process, Redis only),
and only to people who may ask for backups: instance names are not for everyone in the workspace."""

from __future__ import annotations

import asyncio

from pydantic import ValidationError

from bot.app.services import Services
from bot.app.work import RefreshInstances, schedule
from bot.cloud.models import Instance
from bot.domain.policy import Role

COLD_CACHE_WAIT = 1.5  # seconds to wait for a worker to fill an empty cache; Slack allows 3


async def warm_instances(services: Services) -> None:
    """Ask a worker to refresh the list now (a form is about to be opened)."""
    await schedule(services.scheduler, RefreshInstances())


async def instance_choices(services: Services, user_id: str) -> list[Instance]:
    """The cached instance list, for someone whose role may ask for backups; when it is cold, wait a
    little for a worker to fill it. Anyone else gets nothing — a viewer, someone with no role, and
    someone whose role the caches cannot tell yet (fail closed: reading the user record schedules a
    worker to learn it, so typing again a moment later finds it)."""
    role = await services.access.role(user_id)
    if role is None or role < Role.REQUESTER:
        return []
    cached = await services.instances.get()
    if cached is None:
        await warm_instances(services)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + COLD_CACHE_WAIT
        while cached is None and loop.time() < deadline:
            await asyncio.sleep(0.1)
            cached = await services.instances.get()
    instances = []
    for item in cached or []:
        try:
            instances.append(Instance.model_validate(item))
        except ValidationError:
            continue  # written by another version: leave it out rather than fail the type-ahead
    return instances
