"""Background chores that keep the web process's caches warm and the audit channel fed: the instance
list for the form's type-ahead, Slack user-group membership for the policy, audit lines."""

from __future__ import annotations

import logging

from bot.app.ports import DirectoryError
from bot.app.services import Services
from bot.app.work import PostAuditLine
from bot.cloud.errors import CloudError
from bot.domain.policy import members_needing_groups
from bot.store.outcome import Outcome
from bot.store.scheduler import Lease

log = logging.getLogger("bot.app.housekeeping")

GROUP_SYNC_EVERY = 300.0


async def refresh_instances(services: Services, lease: Lease) -> Outcome:
    """Every region's instances for the form; a region that cannot be listed now leaves the others
    offered, and is tried again shortly."""
    by_region = await services.cloud.all_instances()
    listed = [i for found in by_region.values() if not isinstance(found, CloudError) for i in found]
    failed = {region: found for region, found in by_region.items() if isinstance(found, CloudError)}
    for region, exc in failed.items():
        log.warning("could not list the instances of %s for the form (%s)", region, exc)
    if listed or not failed:
        await services.instances.put([i.model_dump(mode="json") for i in listed])
    if failed and lease.attempt < 3:
        return Outcome.later(5.0)
    return Outcome.finished()


async def sync_groups(services: Services) -> Outcome:
    handles = members_needing_groups(services.policy)
    if not handles or services.directory is None:
        return Outcome.finished()
    try:
        groups = await services.directory.user_groups()
    except DirectoryError as exc:
        log.error("cannot read Slack user groups (%s); group members hold no role until it works", exc)
        return Outcome.later(60.0)
    members: dict[str, list[str]] = {handle: [] for handle in handles}
    ids: dict[str, str] = {}
    for group in groups:
        if group.handle in handles:
            members[group.handle] = list(group.users)
            ids[group.handle] = group.id
    await services.groups.replace(members, ids)
    return Outcome.later(GROUP_SYNC_EVERY)


async def post_audit(services: Services, work: PostAuditLine) -> Outcome:
    await services.slack.post_audit(work.channel, work.entry)
    return Outcome.finished()
