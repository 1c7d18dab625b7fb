"""Regions, projects and endpoints of the environment contract (issue 13), checked one value at a time.

HUAWEICLOUD_REGION is one region or a comma list; HUAWEICLOUD_SDK_PROJECT_ID one ID (one region) or
region=project_id pairs; the endpoints may say {region}. Without any region the bot serves one
project labelled LOCAL_REGION: the simulator's pseudo-project, or the one of TAURUSDB_ENDPOINT.
Each check returns the value as kept, or raises ValueError with the reason (:mod:`bot.config` names
the variable).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.domain import rules

# Region → TaurusDB host (fact sheet §1.1). The prefix is not uniform across regions.
_GAUSSDB_FORMYSQL = {"ap-southeast-1", "ap-southeast-2", "tr-west-1", "cn-north-11", "me-east-1"}
_GAUSSDB_MYSQL = {"af-south-1", "cn-east-5", "la-north-2", "cn-southwest-3"}


def taurusdb_host(region: str) -> str:
    if region in _GAUSSDB_FORMYSQL:
        return f"gaussdbformysql.{region}.myhuaweicloud.com"
    if region in _GAUSSDB_MYSQL:
        return f"gaussdb-mysql.{region}.myhuaweicloud.com"
    return f"gaussdb.{region}.myhuaweicloud.com"


LOCAL_REGION = "local"
LOCAL_PROJECT_ID = "0" * 32
REGION_PLACEHOLDER = "{region}"
_REGION_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class ProjectSpec:
    """A configured project: its region, and its ID unless IAM must be asked at start-up."""

    region: str
    project_id: str | None


def items(raw: str | None) -> list[str]:
    return [] if raw is None else [item.strip() for item in raw.split(",")]


def check_regions(raw: str) -> str:
    regions = items(raw)
    for region in regions:
        if not region:
            raise ValueError(f"an empty region in {raw!r}: write region ids separated by commas")
        if not _REGION_RE.fullmatch(region):
            raise ValueError(f"{region!r} is not a region id like ap-southeast-1 (lower case, digits, -)")
    if dupes := sorted({r for r in regions if regions.count(r) > 1}):
        raise ValueError(f"{', '.join(dupes)} is listed more than once")
    return ",".join(regions)


def check_project_ids(raw: str, regions: list[str] | None) -> str:
    """One ID (for at most one region) or ``region=id`` pairs naming regions of ``regions``
    (None: HUAWEICLOUD_REGION is itself invalid, so only the IDs are checked)."""
    if "=" not in raw:
        if problem := rules.check_project_id(raw.strip()):
            raise ValueError(problem)
        if regions is not None and len(regions) > 1:
            raise ValueError(
                f"one project ID cannot serve {len(regions)} regions: write region=project_id pairs "
                f"(for example {regions[0]}=<project id>,{regions[1]}=<project id>)"
            )
        return raw.strip()
    pairs: dict[str, str] = {}
    for item in items(raw):
        region, sep, project_id = (part.strip() for part in item.partition("="))
        if not sep or not region:
            raise ValueError(f"{item!r} is not region=project_id")
        if regions is not None and region not in regions:
            known = (
                f"HUAWEICLOUD_REGION ({', '.join(regions)})" if regions else "HUAWEICLOUD_REGION (not set)"
            )
            raise ValueError(f"region {region!r} is not in {known}")
        if problem := rules.check_project_id(project_id):
            raise ValueError(f"{region}: {problem}")
        if region in pairs:
            raise ValueError(f"region {region!r} is given more than once")
        pairs[region] = project_id
    return ",".join(f"{region}={pid}" for region, pid in pairs.items())


def check_endpoint(value: str, regions: list[str] | None) -> str:
    """A URL, perhaps with ``{region}`` in it (then HUAWEICLOUD_REGION must be set)."""
    probe = value.replace(REGION_PLACEHOLDER, "ap-southeast-1")
    if "{" in probe or "}" in probe:
        raise ValueError(f"the only placeholder an endpoint may hold is {REGION_PLACEHOLDER}, got {value!r}")
    parts = urlsplit(probe)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"must be a URL like https://host, got {value!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError("http:// is allowed only for a loopback host; use https://")
    if REGION_PLACEHOLDER in value and regions == []:
        raise ValueError(f"holds {REGION_PLACEHOLDER} but HUAWEICLOUD_REGION is not set")
    return value.rstrip("/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
