"""Private notices and answers the use cases hand to the Slack adapter to render (pure data).

A notice goes to one person: the requester (``Notifier.tell_requester``), someone who asked through
a response URL (``Notifier.answer``), or the person interacting right now (the listener's answer).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.app.people import People
from bot.cloud.models import BackupRecord
from bot.domain.request import BackupRequest


@dataclass(frozen=True, slots=True)
class InstanceNotFound:
    ref: str
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AmbiguousInstance:
    ref: str
    choices: tuple[tuple[str, str], ...]  # (instance ID, name)


@dataclass(frozen=True, slots=True)
class CloudFailed:
    error: str  # the cloud's words (already in the reader's language through X-Language)


@dataclass(frozen=True, slots=True)
class NoRole:
    helpers: People


@dataclass(frozen=True, slots=True)
class NotAMember:
    """The requester is not in the conversation they asked to post the request in."""

    channel_id: str


@dataclass(frozen=True, slots=True)
class InviteHint:
    """The bot is not in the request's channel yet and keeps trying."""


@dataclass(frozen=True, slots=True)
class GaveUpNotInChannel:
    """The bot was never invited, so nothing was made."""


@dataclass(frozen=True, slots=True)
class RequestEnded:
    """A copy of the request's final reply (e.g. an expiry the requester should not miss)."""


@dataclass(frozen=True, slots=True)
class GaveUp:
    """The bot stopped working on the request (its work failed again and again)."""

    reason: str
    nothing_made: bool  # True: it ended before anything was sent to the cloud


@dataclass(frozen=True, slots=True)
class DeletionSoon:
    """The request's backup is deleted at its ``delete_at`` (a button keeps it 30 more days)."""


@dataclass(frozen=True, slots=True)
class StartRefused:
    """``--at`` named no time the bot can use: ``past``, ``too_far`` or ``malformed``."""

    reason: str
    asked: str


@dataclass(frozen=True, slots=True)
class KeepRefused:
    """``--keep`` asked for more than the policy allows this person."""

    reason: str  # too_long | forever_needs_approver
    longest: float | None


@dataclass(frozen=True, slots=True)
class BackupFound:
    record: BackupRecord
    region: str = ""  # shown when the bot serves several regions


@dataclass(frozen=True, slots=True)
class RequestStatus:
    request: BackupRequest


@dataclass(frozen=True, slots=True)
class NoSuchRequest:
    ref: str


@dataclass(frozen=True, slots=True)
class NoSuchBackup:
    ref: str


@dataclass(frozen=True, slots=True)
class BackupListing:
    instance_name: str
    records: tuple[BackupRecord, ...]


Notice = (
    InstanceNotFound
    | AmbiguousInstance
    | CloudFailed
    | NoRole
    | NotAMember
    | InviteHint
    | GaveUpNotInChannel
    | RequestEnded
    | GaveUp
    | BackupFound
    | RequestStatus
    | NoSuchRequest
    | NoSuchBackup
    | BackupListing
    | DeletionSoon
    | StartRefused
    | KeepRefused
)
