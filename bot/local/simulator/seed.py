"""The simulator's fixed TaurusDB instances: same IDs on every run, so tests and docs can name them.

The first region served gets :data:`SEED_INSTANCES`, one instance for each kind of case the bot must
handle: plain ``ACTIVE`` instances, one whose backups always fail, one that is ``FROZEN``, and two that
share the name ``shared-staging`` (ambiguous by name). Every other region gets
:data:`OTHER_REGION_NAMES`: ``orders-prod`` again (the same name in two regions, under another ID) and
two names of its own, with IDs derived from the region and the name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class SeedInstance:
    id: str
    name: str
    status: str = "ACTIVE"
    fails_backups: bool = False
    data_mb: float = 1024.0  # roughly what a full backup of it weighs
    private_ip: str = "10.0.0.10"
    created: str = "2025-03-01T09:30:00+0800"


SEED_INSTANCES: tuple[SeedInstance, ...] = (
    SeedInstance(
        "66c3e95efa31bb6a055ad7906c65864ein07", "orders-prod", data_mb=20480.0, private_ip="10.0.0.11"
    ),
    SeedInstance("77c0b1ebcd7bc7474758aa00de956eb1in07", "orders-dev", data_mb=512.0, private_ip="10.0.0.12"),
    SeedInstance(
        "579d13c721317e77dbec925d4f2d03c1in07", "billing-prod", data_mb=8192.0, private_ip="10.0.0.13"
    ),
    SeedInstance(
        "b6b5f5153cb5af812fa540342eda3552in07", "analytics-dev", data_mb=2048.0, private_ip="10.0.0.14"
    ),
    SeedInstance(
        "69758b17838f674c8b8c97f461689e79in07", "legacy-broken", fails_backups=True, private_ip="10.0.0.15"
    ),
    SeedInstance(
        "04da46805433927a22a0a84d06494f22in07", "reporting-frozen", status="FROZEN", private_ip="10.0.0.16"
    ),
    SeedInstance(
        "f30dae49050cecbf0977a1cc9abdef79in07", "shared-staging", data_mb=256.0, private_ip="10.0.1.21"
    ),
    SeedInstance(
        "06fd421b0a77a0ba4d9458fcba67f850in07", "shared-staging", data_mb=300.0, private_ip="10.0.1.22"
    ),
)

# Names seeded in every region after the first; orders-prod is also in the first region.
OTHER_REGION_NAMES = ("orders-prod", "payments-prod", "payments-dev")
_OTHER_REGION_SIZES = {"orders-prod": 4096.0, "payments-prod": 8192.0, "payments-dev": 512.0}

FAIL_REASON = "Failed to acquire the backup lock on the instance after one retry."


def seed_id(name: str) -> str:
    """The ID of the one seeded instance called ``name`` (ValueError if none or several)."""
    ids = [instance.id for instance in SEED_INSTANCES if instance.name == name]
    if len(ids) != 1:
        raise ValueError(f"{len(ids)} seeded instances are named {name!r}")
    return ids[0]


def regional_instance_id(region: str, name: str) -> str:
    """The ID of the instance ``name`` seeded in a region that is not the first one."""
    return stable_id("instance", f"{region}/{name}") + "in07"


def region_seeds(region: str, *, first: bool) -> tuple[SeedInstance, ...]:
    """The instances seeded in ``region``: today's set in the first region, three in any other."""
    if first:
        return SEED_INSTANCES
    return tuple(
        SeedInstance(
            regional_instance_id(region, name),
            name,
            data_mb=_OTHER_REGION_SIZES[name],
            private_ip=f"10.1.0.{11 + n}",
        )
        for n, name in enumerate(OTHER_REGION_NAMES)
    )


def fleet_seeds(count: int) -> tuple[SeedInstance, ...]:
    """``count`` plain instances named ``fleet-000`` … (IDs derived from the name)."""
    return tuple(
        SeedInstance(stable_id("instance", f"fleet-{i:03d}") + "in07", f"fleet-{i:03d}", data_mb=256.0)
        for i in range(count)
    )


def stable_id(kind: str, name: str) -> str:
    """A 32-hex ID that is always the same for the same kind and name (users, domains, projects)."""
    return hashlib.sha256(f"backup-bot-simulator/{kind}/{name}".encode()).hexdigest()[:32]
