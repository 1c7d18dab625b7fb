"""How the fake workspace looks and misbehaves: the knobs tests set from Python or over HTTP
(``POST /_fake/knobs``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.local.fake_slack.identity import TEAM_ID

GUEST_KINDS = frozenset({"multi", "single"})
"""``multi``: a multi-channel guest (``is_restricted``); ``single``: a single-channel guest (also
``is_ultra_restricted``)."""


@dataclass
class Knobs:
    """How the fake looks and misbehaves. Change fields directly, or :meth:`update` from JSON."""

    not_member: set[str] = field(default_factory=set)
    """Channels the bot is not in: chat.postMessage/chat.update answer ``not_in_channel`` until
    ``conversations.join`` (public ``C…`` channels only; ``D…`` DMs are always fine)."""
    rate_limit_next: dict[str, int] = field(default_factory=dict)
    """method → how many next calls answer HTTP 429 with ``Retry-After: retry_after``."""
    retry_after: int = 1
    fail_next: dict[str, int] = field(default_factory=dict)
    """method → how many next calls answer HTTP 500."""
    slow_next: dict[str, list[float]] = field(default_factory=dict)
    """method → seconds each of the next calls takes before it is answered, in order (a slow Slack;
    the call is recorded when it is answered)."""
    error_next: dict[str, list[str]] = field(default_factory=dict)
    """method → error codes the next calls answer with ``{"ok": false, "error": code}``, in order."""
    raw_next: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """method → answers that are not Slack's JSON, for the next calls in order: each a mapping with
    ``body`` (text), ``status`` (default 200) and ``content_type`` (default ``text/plain``), as a
    proxy or a broken gateway in front of Slack would answer."""
    join_ignored: set[str] = field(default_factory=set)
    """Channels whose ``conversations.join`` answers ``ok`` but leaves the bot out (posting there
    still says ``not_in_channel``)."""
    locales: dict[str, str] = field(default_factory=dict)
    """user ID → locale for users.info (default ``en-US``)."""
    timezones: dict[str, str] = field(default_factory=dict)
    """user ID → IANA time zone for users.info (default ``Etc/UTC``)."""
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    """user group handle → member user IDs."""
    require_token: bool = True
    """Answer ``not_authed`` to Web API calls without a token."""

    # who the workspace is (auth.test, and the team ID in every answer)
    team_id: str = TEAM_ID
    enterprise_id: str | None = None
    """An Enterprise Grid org's ID (``E…``); ``None``: a workspace outside any org."""
    enterprise_install: bool = False
    """The app is installed org-wide (auth.test ``is_enterprise_install``)."""

    # people and where they are
    known_users: set[str] | None = None
    """The workspace's people; ``None``: every ID shaped like a user's (``U…``/``W…``). Others get
    ``user_not_found``."""
    guests: dict[str, str] = field(default_factory=dict)
    """user ID → guest kind (``multi`` or ``single``) for users.info."""
    channel_members: dict[str, list[str]] = field(default_factory=dict)
    """channel → its members' user IDs; a channel not listed has every known person in it."""

    # Slack's rate limits (off unless set)
    post_rate: float = 0.0
    """chat.postMessage posts per second per channel (Slack: about 1); 0 = unlimited."""
    post_burst: int = 3
    """How many posts in a row one channel tolerates before ``post_rate`` applies."""
    tier_limits: dict[str, int] = field(default_factory=dict)
    """method → calls per minute (a bucket of that size refilled over a minute; see
    :func:`~bot.local.fake_slack.limits.slack_tier_limits`)."""

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
        data["join_ignored"] = sorted(self.join_ignored)
        data["known_users"] = None if self.known_users is None else sorted(self.known_users)
        return data


_KNOB_TYPES: dict[str, Callable[[Any], Any]] = {
    "not_member": lambda v: {str(c) for c in v},
    "rate_limit_next": lambda v: {str(k): int(n) for k, n in dict(v).items()},
    "retry_after": int,
    "fail_next": lambda v: {str(k): int(n) for k, n in dict(v).items()},
    "slow_next": lambda v: {str(k): [float(s) for s in secs] for k, secs in dict(v).items()},
    "error_next": lambda v: {str(k): [str(e) for e in errs] for k, errs in dict(v).items()},
    "raw_next": lambda v: {str(k): [_raw_answer(a) for a in answers] for k, answers in dict(v).items()},
    "join_ignored": lambda v: {str(c) for c in v},
    "locales": lambda v: {str(k): str(x) for k, x in dict(v).items()},
    "timezones": lambda v: {str(k): str(x) for k, x in dict(v).items()},
    "usergroups": lambda v: {str(k): [str(u) for u in users] for k, users in dict(v).items()},
    "require_token": bool,
    "team_id": str,
    "enterprise_id": lambda v: None if v is None else str(v),
    "enterprise_install": bool,
    "known_users": lambda v: None if v is None else {str(u) for u in v},
    "guests": lambda v: {str(k): _guest_kind(x) for k, x in dict(v).items()},
    "channel_members": lambda v: {str(k): [str(u) for u in users] for k, users in dict(v).items()},
    "post_rate": float,
    "post_burst": int,
    "tier_limits": lambda v: {str(k): int(n) for k, n in dict(v).items()},
}


def _raw_answer(value: Any) -> dict[str, Any]:
    answer = dict(value)
    return {
        "body": str(answer.get("body", "")),
        "status": int(answer.get("status", 200)),
        "content_type": str(answer.get("content_type", "text/plain")),
    }


def _guest_kind(value: Any) -> str:
    kind = str(value)
    if kind not in GUEST_KINDS:
        raise ValueError(f"guest kind must be one of {', '.join(sorted(GUEST_KINDS))}, not {kind!r}")
    return kind
