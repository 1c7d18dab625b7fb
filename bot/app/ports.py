"""What the use cases need from Slack, as protocols the Slack adapter implements.

The use cases say *what* to tell whom (a reply of some kind in a request's thread, a private notice
to its requester); the adapter decides how it reads (Block Kit, in the reader's language).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from bot.app.notices import Notice

if TYPE_CHECKING:
    from bot.app.home import Home
from bot.app.people import People
from bot.domain.audit import AuditEntry
from bot.domain.request import BackupRequest
from bot.store.outcome import TryLater
from bot.store.scheduler import Lease


class NotInChannel(Exception):
    """The bot cannot post in the request's channel until someone invites it."""


class SlackBusy(TryLater):
    """Slack's rate limit leaves no turn for ``retry_in`` seconds: the work waits until then (every
    message a step posts is recorded as posted, so doing the step again is safe)."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"Slack's rate limit: next turn in {retry_in:.1f}s", retry_in)


class DirectoryError(Exception):
    """Slack would not tell (an error answer, or it could not be reached)."""

    def __init__(self, reason: str, *, lasting: bool) -> None:
        super().__init__(reason)
        self.lasting = lasting  # True: asking again soon gets the same answer (no scope, no user)


# The lease of the work a worker's handler is running (None elsewhere): a step that must not happen
# twice is fenced by it (the create), and a reply made in it is posted once (bot.app.replies).
running: ContextVar[Lease | None] = ContextVar("running", default=None)


class ReplyKind(StrEnum):
    """The replies the bot posts in a request's thread (also their message-metadata event names)."""

    DECISION = "decision"
    CREATED = "created"
    BUSY = "busy"
    TIMEOUT = "timeout"
    FINAL = "final"
    STARTING = "starting"  # a backup planned for later starts as planned
    DELETED = "deleted"  # deleted as planned by its retention
    DELETE_GONE = "delete_gone"  # someone deleted it first
    DELETE_PROBLEM = "delete_problem"  # the cloud refused the planned deletion (said once)


@dataclass(frozen=True, slots=True)
class SlackUser:
    locale: str | None  # ``zh-CN``…; None when Slack has none
    tz: str = ""
    guest: bool = False  # a multi- or single-channel guest (is_restricted / is_ultra_restricted)


@dataclass(frozen=True, slots=True)
class GroupMembers:
    handle: str
    id: str
    users: tuple[str, ...]


class Notifier(Protocol):
    """Everything the bot says in Slack outside of answering an interaction."""

    async def post_parent(self, request: BackupRequest, approvers: People | None) -> str:
        """Post the message that roots the request's thread; its ts. Raises NotInChannel."""

    async def update_parent(self, request: BackupRequest, *, progress: bool = False) -> bool:
        """Show the request's current state on its parent message and on every copy of it."""

    async def reply(
        self,
        request: BackupRequest,
        kind: ReplyKind,
        *,
        detail: str = "",
        timeout_s: float | None = None,
        people: People | None = None,
        slot: str = "",
        once: bool = False,
    ) -> str:
        """A reply in the request's thread; its ts (``people``: whom it names, e.g. the approvers a
        broken glass tells; ``slot``: the request field that records it, carried in the message so
        :meth:`find_reply` can tell it; ``once``: never sent a second time after an unclear answer,
        which fails the call instead). Raises NotInChannel."""

    async def find_reply(self, request: BackupRequest, kind: ReplyKind, slot: str) -> str | None:
        """The ts of that reply if the request's thread holds it (None also when it cannot be read)."""

    async def ask_approver(self, request: BackupRequest, user_id: str) -> tuple[str, str]:
        """The approval request in a direct message to one approver; its (channel, ts)."""

    async def tell_requester(self, request: BackupRequest, notice: Notice, *, lasting: bool = False) -> None:
        """A private note to the requester, in their language (``lasting``: one they should still
        find later, a direct message, not a passing ephemeral one)."""

    async def answer(self, response_url: str, notice: Notice, *, lang: str) -> None:
        """A private answer through an interaction's response URL, in ``lang``."""

    async def post_audit(self, channel: str, entry: AuditEntry) -> None:
        """One audit line in the audit channel."""

    async def permalink(self, channel: str, ts: str) -> str:
        """A link to a message ("" when Slack will not say)."""

    async def publish_home(self, home: Home) -> None:
        """Show one person their App Home."""


class Directory(Protocol):
    """What Slack knows about people: their locale and the user groups."""

    async def user(self, user_id: str) -> SlackUser:
        """What ``users.info`` says of the user. Raises DirectoryError."""

    async def user_groups(self) -> list[GroupMembers]:
        """Every enabled user group with its members. Raises DirectoryError."""

    async def is_member(self, user_id: str, channel_id: str) -> bool:
        """Whether the user is in the conversation (False when the bot cannot see it at all).
        Raises DirectoryError when Slack could not say."""
