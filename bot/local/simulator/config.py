"""How a simulator is set up: regions and their projects, timings, the credentials its gateway
accepts, start-up faults.

Credentials left as ``None`` are not checked, so a bot with no configuration at all can talk to a
local simulator; set them (``from_env`` reads the bot's own variables) to make the gateway strict.
One region with no project ID configured accepts any project ID, as the simulator always did;
otherwise each region's project ID is configured or :func:`~bot.local.simulator.regions.project_id_for`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.domain import rules
from bot.local.simulator.knobs import FaultKnobs, unknown_regions
from bot.local.simulator.regions import ProjectMap
from bot.local.simulator.seed import region_seeds

DEFAULT_REGION = "ap-southeast-3"
REGION_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

_ENV_FIELDS = {
    "access_key": "HUAWEICLOUD_SDK_AK",
    "secret_key": "HUAWEICLOUD_SDK_SK",
    "security_token": "HUAWEICLOUD_SDK_SECURITY_TOKEN",
    "iam_user": "HUAWEICLOUD_IAM_USER",
    "iam_password": "HUAWEICLOUD_IAM_PASSWORD",
    "iam_domain": "HUAWEICLOUD_IAM_DOMAIN",
    "auth_token": "HUAWEICLOUD_AUTH_TOKEN",
}


def split_list(text: str) -> list[str]:
    """``"a, b,c"`` → ``["a", "b", "c"]`` (empty items dropped)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_pairs(text: str) -> dict[str, str]:
    """``"region=value,region=value"`` → a dict, in order; ValueError for an item without ``=``."""
    pairs: dict[str, str] = {}
    for item in split_list(text):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"expected region=value, got {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs


class SimulatorConfig(BaseModel):
    """Everything a simulator needs at start-up. Faults can also be changed at run time."""

    model_config = ConfigDict(extra="forbid")

    backup_seconds: float = Field(default=5.0, ge=0)
    job_invisible_seconds: float = Field(default=3.0, ge=0)
    token_ttl_seconds: float = Field(default=86400.0, gt=0)
    state_file: Path | None = None
    # Served regions, all on one endpoint; the first gets the classic seed instances. ``region=``
    # (one region, the spelling of earlier versions) is still accepted.
    regions: list[str] = Field(default_factory=lambda: [DEFAULT_REGION], min_length=1)

    project_id: str | None = None  # the first region's project ID
    projects: dict[str, str] = Field(default_factory=dict)  # region → project ID, for any region
    access_key: str | None = None
    secret_key: str | None = None
    security_token: str | None = None
    iam_user: str | None = None
    iam_password: str | None = None
    iam_domain: str | None = None
    auth_token: str | None = None

    faults: FaultKnobs = Field(default_factory=FaultKnobs)
    # Plain ACTIVE instances fleet-000, fleet-001 … in the first region, for many backups at once
    # (the service allows one building backup per instance).
    fleet_instances: int = Field(default=0, ge=0, le=10_000)

    @model_validator(mode="before")
    @classmethod
    def _one_region(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "region" in data:
            if "regions" in data:
                raise ValueError("give region or regions, not both")
            data = {k: v for k, v in data.items() if k != "region"} | {"regions": [data["region"]]}
        return data

    @field_validator("regions")
    @classmethod
    def _valid_regions(cls, regions: list[str]) -> list[str]:
        for region in regions:
            if not REGION_RE.fullmatch(region):
                raise ValueError(f"{region!r} is not a region ID (like ap-southeast-1)")
        if len(set(regions)) != len(regions):
            raise ValueError("a region is listed twice")
        return regions

    @model_validator(mode="after")
    def _valid_projects(self) -> SimulatorConfig:
        configured = self.configured_projects()
        for region, project_id in configured.items():
            if region not in self.regions:
                raise ValueError(f"project ID for {region!r}, which is not among the regions {self.regions}")
            if rules.check_project_id(project_id) is not None:
                raise ValueError(f"the project ID of {region} must be 32 letters or digits")
        if self.project_id and self.projects.get(self.region, self.project_id) != self.project_id:
            raise ValueError(f"project_id and projects[{self.region!r}] disagree")
        ids = [p.id for p in self.project_map().projects]
        if len(set(ids)) != len(ids):
            raise ValueError("two regions cannot share a project ID")
        if unknown := unknown_regions(self.faults, self.regions):
            raise ValueError(f"faults name regions that are not served: {unknown}")
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> SimulatorConfig:
        """The regions, projects and credentials the bot would use (same variable names).

        ``HUAWEICLOUD_REGION`` is one region or a comma list; ``HUAWEICLOUD_SDK_PROJECT_ID`` one ID (the
        first region's) or ``region=id`` pairs. Empty values count as unset. ``projects`` given in
        ``overrides`` is added to the pairs from the environment.
        """
        values: dict[str, Any] = {
            field: environ[name] for field, name in _ENV_FIELDS.items() if environ.get(name)
        }
        project = environ.get("HUAWEICLOUD_SDK_PROJECT_ID", "").strip()
        if "=" in project:
            values["projects"] = parse_pairs(project)
        elif project:
            values["project_id"] = project
        if regions := split_list(environ.get("HUAWEICLOUD_REGION", "")):
            values["regions"] = regions
        elif "projects" in values:
            values["regions"] = list(values["projects"])
        if "projects" in overrides:
            values["projects"] = values.get("projects", {}) | dict(overrides.pop("projects"))
        values.update(overrides)
        return cls(**values)

    @property
    def region(self) -> str:
        """The first (primary) region."""
        return self.regions[0]

    def configured_projects(self) -> dict[str, str]:
        """Project IDs set by configuration, by region (the rest are derived)."""
        first = {self.region: self.project_id} if self.project_id else {}
        return first | self.projects

    def project_map(self) -> ProjectMap:
        return ProjectMap(self.regions, self.configured_projects())

    def project_id_of(self, region: str) -> str:
        """The project ID that ``region`` is served under (KeyError for a region not served)."""
        project = self.project_map().by_region(region)
        if project is None:
            raise KeyError(region)
        return project.id

    def seed_id(self, name: str, region: str | None = None) -> str:
        """The ID of the one instance called ``name`` seeded in ``region`` (default: the first)."""
        region = region or self.region
        if region not in self.regions:
            raise ValueError(f"{region!r} is not served")
        ids = [s.id for s in region_seeds(region, first=region == self.region) if s.name == name]
        if len(ids) != 1:
            raise ValueError(f"{len(ids)} instances in {region} are named {name!r}")
        return ids[0]

    @property
    def strict_tokens(self) -> bool:
        """True when some credential is configured, so only tokens we issued (or ``auth_token``) pass."""
        return any(
            value is not None
            for value in (
                self.access_key,
                self.secret_key,
                self.security_token,
                self.iam_user,
                self.iam_password,
                self.iam_domain,
                self.auth_token,
            )
        )
