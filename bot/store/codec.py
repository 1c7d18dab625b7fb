"""Values as they come back from redis-py (bytes or str, depending on the client) made plain."""

from __future__ import annotations


def as_text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
