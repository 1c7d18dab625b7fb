"""Which regions a simulator serves and each one's project: the map from ``{project_id}`` to region.

One endpoint serves every region; the project ID in ``/v3/{project_id}/…`` says which. A region's
project ID is :func:`project_id_for` (a stable function of the region's name) unless configured.
With one region and no project ID configured the map is *open*, as the single-project simulator
always was: any well-formed project ID in a path means that one region.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.local.simulator.seed import stable_id


def project_id_for(region: str) -> str:
    """The project ID a simulator gives ``region`` when none is configured (32 hex characters).

    ``sha256("backup-bot-simulator/project/" + region)``, first 32 hex digits: the same ID the
    single-region simulator always derived from a token request's ``scope.project.name``.
    """
    return stable_id("project", region)


@dataclass(frozen=True)
class Project:
    """One region's project: its IAM name is the region ID (fact sheet §4)."""

    region: str
    id: str


class ProjectMap:
    """The served projects in configuration order; the first region is the primary one."""

    def __init__(self, regions: Sequence[str], configured: Mapping[str, str]) -> None:
        if not regions:
            raise ValueError("a simulator serves at least one region")
        self.projects = tuple(Project(r, configured.get(r) or project_id_for(r)) for r in regions)
        self.open = len(regions) == 1 and not configured
        self._by_id = {p.id: p for p in self.projects}
        self._by_region = {p.region: p for p in self.projects}

    @property
    def first(self) -> Project:
        return self.projects[0]

    @property
    def regions(self) -> list[str]:
        return [p.region for p in self.projects]

    def region_of(self, project_id: str) -> str | None:
        """The region a (well-formed) project ID in a path selects, or None when none is served."""
        project = self._by_id.get(project_id)
        if project is not None:
            return project.region
        return self.first.region if self.open else None

    def by_region(self, region: str) -> Project | None:
        return self._by_region.get(region)

    def knows_id(self, project_id: str) -> bool:
        """True for a served project ID (any ID when open)."""
        return self.open or project_id in self._by_id
