"""How people name instances: by ID, by exact name, or as ``<region>/<name>``; and close names.

Pure helpers shared by one project's client and the fleet: checking a reference, splitting off a
region, and the "did you mean" suggestions of a miss.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from bot.cloud.errors import InvalidRequest
from bot.cloud.models import Instance


def checked_ref(ref: str) -> str:
    """``ref`` stripped, or :class:`InvalidRequest` when it is empty or a wildcard."""
    ref = ref.strip()
    if not ref:
        raise InvalidRequest("an instance name or ID is required")
    if ref.startswith("*"):
        raise InvalidRequest("an instance name may not start with * (wildcard search is not allowed)")
    return ref


def qualified(region: str, name: str) -> str:
    return f"{region}/{name}"


def split_qualified(ref: str) -> tuple[str | None, str]:
    """``("cn-north-4", "orders-prod")`` from ``cn-north-4/orders-prod``; ``(None, ref)`` for a
    bare name or ID (instance names cannot contain ``/``)."""
    region, sep, rest = ref.partition("/")
    if not sep:
        return None, ref
    return region.strip(), rest.strip()


def closest(ref: str, instances: Iterable[tuple[Instance, str]], *, by_id: bool) -> list[str]:
    """Up to three labels of the instances closest to ``ref`` (for a mistyped ID: those with the
    closest IDs), compared case-insensitively. ``instances`` pairs each with its label (its name,
    or its qualified name in a fleet of several regions)."""
    keyed: dict[str, list[str]] = {}
    for instance, label in instances:
        keyed.setdefault((instance.id if by_id else instance.name).lower(), []).append(label)
    labels: list[str] = []
    for key in difflib.get_close_matches(ref.lower(), list(keyed), n=3, cutoff=0.6):
        labels.extend(label for label in keyed[key] if label not in labels)
    return labels[:3]
