"""Every kind of work the bot schedules, and how a work key is spelled.

A work key is ``<kind>:<ident>`` (``req:r-7kq2m9xv4d``, ``poll:<project>``): the kind picks the
handler, the ident says what it is about, and scheduling the same key twice is a no-op. The typed
payload of each kind is :mod:`bot.app.work`; nothing else builds or splits a work key.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class WorkKind(StrEnum):
    REQUEST = "req"  # advance one backup request through its lifecycle
    EXPIRE = "expire"  # a pending request's approval window closed
    POLL = "poll"  # one poll tick for one project
    LOOKUP = "lookup"  # answer /backup status or /backup list through the response URL
    LOCALE = "locale"  # learn a Slack user's language
    INSTANCES = "instances"  # refresh the form's instance list
    GROUPS = "groups"  # refresh Slack user-group membership for the policy
    AUDIT_POST = "auditpost"  # one audit line in AUDIT_CHANNEL
    HOME = "home"  # publish one person's App Home
    START = "start"  # a request planned for later (--at) reached its time
    DELETE = "delete"  # a backup's retention ran out: delete it
    DELETE_NOTICE = "keepnotice"  # tell the requester a day before their backup is deleted


@dataclass(frozen=True, slots=True)
class WorkKey:
    kind: WorkKind
    ident: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.ident}"

    @classmethod
    def parse(cls, text: str) -> WorkKey | None:
        """The key behind ``text``, or None for a kind this version does not know."""
        kind, sep, ident = text.partition(":")
        try:
            return cls(WorkKind(kind), ident) if sep else None
        except ValueError:
            return None
