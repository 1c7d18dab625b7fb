"""The fault knobs as data: what :mod:`bot.local.simulator.faults` injects, set at start-up
(``SimulatorConfig.faults``) and changed at run time (``POST /_sim/faults``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Where(BaseModel):
    """Which requests a rule hits: method, path text, and optionally one region or project."""

    model_config = ConfigDict(extra="forbid")

    method: str = "*"
    path_contains: str = ""
    region: str | None = None
    project_id: str | None = None

    def matches(self, method: str, path: str, project: tuple[str | None, str | None] = (None, None)) -> bool:
        project_id, region = project
        return (
            self.method.upper() in ("*", method.upper())
            and self.path_contains in path
            and self.region in (None, region)
            and self.project_id in (None, project_id)
        )


class FailRule(Where):
    """Fail the next ``count`` requests that match."""

    count: int = Field(default=1, ge=1)
    status: int = Field(default=503, ge=400, le=599)
    retry_after: float | None = None
    error_code: str | None = None


class Outage(Where):
    """Fail every matching request for ``seconds`` from when it is armed (start-up, or when posted).

    ``until`` (epoch seconds on the simulator's clock) is filled in when armed."""

    seconds: float = Field(gt=0)
    status: int = Field(default=503, ge=400, le=599)
    retry_after: float | None = None
    error_code: str | None = None
    until: float | None = None


class FaultKnobs(BaseModel):
    """Every fault knob. Rates are probabilities in [0, 1] and apply to reads (GET) only."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=0.0, ge=0)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    error_status: int = Field(default=503, ge=500, le=599)
    throttle_rate: float = Field(default=0.0, ge=0, le=1)
    retry_after: float | None = Field(default=1.0, ge=0)
    fail_next: list[FailRule] = Field(default_factory=list)
    outages: list[Outage] = Field(default_factory=list)
    # How many projects IAM's GET /v3/projects?name={region} finds (default 1): 0 or 2 for error tests.
    iam_projects: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    drop_after_create: int = Field(default=0, ge=0)
    hang_ms: float = Field(default=0.0, ge=0)
    hang_count: int = Field(default=1, ge=0)
    hang_path_contains: str = ""
    seed: int | None = None


def unknown_regions(knobs: FaultKnobs, served: list[str]) -> list[str]:
    """Regions the knobs name that are not served (a typo would silently never match)."""
    named = [r.region for r in [*knobs.fail_next, *knobs.outages] if r.region is not None]
    return sorted({r for r in [*named, *knobs.iam_projects] if r not in served})
