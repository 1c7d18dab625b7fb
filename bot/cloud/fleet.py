"""Every project the bot serves (one per region), and finding an instance among them.

A :class:`Fleet` holds one :class:`TaurusDB` client per project; the clients of projects behind
the same endpoint share one ``httpx.AsyncClient``, which the fleet owns and closes. An instance is
named by ID (found in whichever region has it), by exact name (searched in every region at once)
or as ``<region>/<name>``. A name in two regions is refused (:class:`AmbiguousInstance` with the
qualified choices), so nothing is created in a region the person did not mean.

A fleet of one region behaves exactly like its one client, and shows no region in names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import httpx

from bot.cloud.calls import CallHook, response_hook
from bot.cloud.client import TaurusDB
from bot.cloud.errors import AmbiguousInstance, CloudError, InstanceNotFound, UnknownRegion
from bot.cloud.models import BackupRecord, Instance
from bot.cloud.naming import checked_ref, closest, qualified, split_qualified
from bot.domain import rules

T = TypeVar("T")


@dataclass(frozen=True)
class Project:
    region: str
    project_id: str


class Fleet:
    """The TaurusDB clients of every configured project, in configuration order."""

    def __init__(self, clients: Sequence[TaurusDB], *, owned: Iterable[httpx.AsyncClient] = ()) -> None:
        if not clients:
            raise ValueError("a fleet needs at least one project")
        self._clients = tuple(clients)
        self._by_region = {client.region: client for client in self._clients}
        if len(self._by_region) != len(self._clients):
            raise ValueError("a fleet serves one project per region")
        self._owned = list(dict.fromkeys(owned))  # the HTTP clients to close, each once

    def __repr__(self) -> str:
        return f"Fleet({', '.join(f'{p.region}={p.project_id}' for p in self.projects)})"

    async def __aenter__(self) -> Fleet:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for http in self._owned:
            await http.aclose()

    # -- projects ------------------------------------------------------------------------------

    @property
    def projects(self) -> tuple[Project, ...]:
        return tuple(Project(client.region, client.project_id) for client in self._clients)

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(self._by_region)

    @property
    def multi_region(self) -> bool:
        """Whether people see regions: only when there is more than one."""
        return len(self._clients) > 1

    @property
    def clients(self) -> tuple[TaurusDB, ...]:
        return self._clients

    def client(self, region: str | None = None) -> TaurusDB:
        """The client of ``region`` (of the one project when None and there is one)."""
        if region is None:
            if self.multi_region:
                raise ValueError(f"a fleet of {len(self._clients)} regions needs a region")
            return self._clients[0]
        try:
            return self._by_region[region]
        except KeyError:
            raise UnknownRegion(region, list(self.regions)) from None

    def client_of_project(self, project_id: str) -> TaurusDB:
        for client in self._clients:
            if client.project_id == project_id:
                return client
        raise KeyError(f"the fleet serves no project {project_id!r}")

    def label(self, instance: Instance) -> str:
        """How people see an instance: ``<region>/<name>`` when several regions are configured."""
        if self.multi_region and instance.region:
            return qualified(instance.region, instance.name)
        return instance.name

    def add_call_hook(self, hook: CallHook) -> None:
        """Have ``hook`` told of every answered request (TaurusDB and IAM), with its region."""
        for http in self._owned:
            http.event_hooks["response"].append(response_hook(hook))

    async def each(self, call: Callable[[TaurusDB], Awaitable[T]]) -> dict[str, T | CloudError]:
        """``call`` on every project's client at once, by region; a region's :class:`CloudError`
        is its result, so one failing region does not hide the others' answers."""
        return {client.region: result for client, result in await _gather(self._clients, call)}

    # -- instances -----------------------------------------------------------------------------

    async def find_instance(self, ref: str, *, language: str = "en-us") -> Instance:
        """The one instance ``ref`` names, its ``region`` set to the project's region.

        Raises :class:`InstanceNotFound` (close names, qualified when several regions),
        :class:`AmbiguousInstance` (choices ``(id, "<region>/<name>")`` across regions),
        :class:`UnknownRegion`, or the :class:`CloudError` of a region that could not be asked
        when its answer could change the outcome.
        """
        ref = checked_ref(ref)
        region, bare = split_qualified(ref)
        targets = self._clients if region is None else (self.client(region),)
        bare = checked_ref(bare)
        if not self.multi_region:
            (only,) = targets
            return _placed(await only.find_instance(bare, language=language), only)
        answers = await _gather(targets, lambda c: c.matching_instances(bare, language=language))
        matches = [_placed(i, c) for c, found in answers if not isinstance(found, CloudError) for i in found]
        failures = [found for _, found in answers if isinstance(found, CloudError)]
        by_id = rules.is_instance_id(bare)
        if len(matches) == 1 and (by_id or not failures):
            return matches[0]  # an ID is unique; a name only when every region answered
        if failures:
            raise failures[0]
        if matches:
            raise AmbiguousInstance(ref, [(i.id, self.label(i)) for i in matches])
        everyone = await _gather(self._clients, lambda c: _all_instances(c, language))
        labelled = [(i, self.label(_placed(i, c))) for c, found in _answered(everyone) for i in found]
        raise InstanceNotFound(ref, closest(bare, labelled, by_id=by_id))

    async def all_instances(self, *, language: str = "en-us") -> dict[str, list[Instance] | CloudError]:
        """Every instance of every region (``region`` set), or the region's error."""

        async def listed(client: TaurusDB) -> list[Instance]:
            return [_placed(i, client) for i in await _all_instances(client, language)]

        return await self.each(listed)

    async def locate_backup(
        self, backup_id: str, *, language: str = "en-us"
    ) -> tuple[str, BackupRecord] | None:
        """The region and record of the backup with this ID, or None when no region has it.
        A region that cannot be asked raises, unless another region has the backup."""

        async def lookup(client: TaurusDB) -> BackupRecord | None:
            page = await client.list_backups(backup_id=backup_id, language=language)
            return next((b for b in page.backups if b.id == backup_id), None)

        answers = await self.each(lookup)
        for region, found in answers.items():
            if isinstance(found, BackupRecord):
                return region, found
        for found in answers.values():
            if isinstance(found, CloudError):
                raise found
        return None


def _placed(instance: Instance, client: TaurusDB) -> Instance:
    return instance.model_copy(update={"region": client.region})


async def _all_instances(client: TaurusDB, language: str) -> list[Instance]:
    return [i async for i in client.iter_instances(language=language)]


async def _gather(
    clients: Sequence[TaurusDB], call: Callable[[TaurusDB], Awaitable[T]]
) -> list[tuple[TaurusDB, T | CloudError]]:
    """``call`` on each client at once; a :class:`CloudError` is a result, any other error a bug."""
    results = await asyncio.gather(*(call(c) for c in clients), return_exceptions=True)
    out: list[tuple[TaurusDB, T | CloudError]] = []
    for client, result in zip(clients, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, CloudError):
            raise result
        out.append((client, result))
    return out


def _answered(
    answers: list[tuple[TaurusDB, list[Instance] | CloudError]],
) -> list[tuple[TaurusDB, list[Instance]]]:
    """The regions that answered (suggestions are best effort: a failing region adds none)."""
    return [(client, found) for client, found in answers if not isinstance(found, CloudError)]
