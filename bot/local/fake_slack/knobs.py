"""How the fake misbehaves: the knobs tests set from Python or over HTTP (``POST /_fake/knobs``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Knobs:
    """How the fake misbehaves. Change fields directly, or :meth:`update` from JSON."""

    not_member: set[str] = field(default_factory=set)
    """Channels the bot is not in: chat.postMessage/chat.update answer ``not_in_channel`` until
    ``conversations.join`` (public ``C…`` channels only; ``D…`` DMs are always fine)."""
    rate_limit_next: dict[str, int] = field(default_factory=dict)
    """method → how many next calls answer HTTP 429 with ``Retry-After: retry_after``."""
    retry_after: int = 1
    fail_next: dict[str, int] = field(default_factory=dict)
    """method → how many next calls answer HTTP 500."""
    error_next: dict[str, list[str]] = field(default_factory=dict)
    """method → error codes the next calls answer with ``{"ok": false, "error": code}``, in order."""
    locales: dict[str, str] = field(default_factory=dict)
    """user ID → locale for users.info (default ``en-US``)."""
    timezones: dict[str, str] = field(default_factory=dict)
    """user ID → IANA time zone for users.info (default ``Etc/UTC``)."""
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    """user group handle → member user IDs."""
    require_token: bool = True
    """Answer ``not_authed`` to Web API calls without a token."""

    def update(self, values: Mapping[str, Any]) -> None:
        """Replace the given knobs (JSON-shaped values); unknown names raise ``ValueError``."""
        unknown = set(values) - set(_KNOB_TYPES)
        if unknown:
            raise ValueError(f"unknown knobs: {', '.join(sorted(unknown))}")
        for name, value in values.items():
            setattr(self, name, _KNOB_TYPES[name](value))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["not_member"] = sorted(self.not_member)
        return data


_KNOB_TYPES: dict[str, Callable[[Any], Any]] = {
    "not_member": lambda v: {str(c) for c in v},
    "rate_limit_next": lambda v: {str(k): int(n) for k, n in dict(v).items()},
    "retry_after": int,
    "fail_next": lambda v: {str(k): int(n) for k, n in dict(v).items()},
    "error_next": lambda v: {str(k): [str(e) for e in errs] for k, errs in dict(v).items()},
    "locales": lambda v: {str(k): str(x) for k, x in dict(v).items()},
    "timezones": lambda v: {str(k): str(x) for k, x in dict(v).items()},
    "usergroups": lambda v: {str(k): [str(u) for u in users] for k, users in dict(v).items()},
    "require_token": bool,
}
