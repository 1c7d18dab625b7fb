"""A backup request and its lifecycle (DESIGN.md §6), as data and pure transition rules."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator


class State(StrEnum):
    RECEIVED = "RECEIVED"
    PENDING_APPROVAL = "PENDING_APPROVAL"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    CREATING = "CREATING"
    BUILDING = "BUILDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    CREATE_FAILED = "CREATE_FAILED"
    CANCELLED = "CANCELLED"
    SCHEDULED = "SCHEDULED"  # admitted (approved when it had to be), waiting for its start time

    @property
    def final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset(
    {
        State.REJECTED,
        State.EXPIRED,
        State.COMPLETED,
        State.FAILED,
        State.TIMED_OUT,
        State.CREATE_FAILED,
        State.CANCELLED,
    }
)

TRANSITIONS: dict[State, frozenset[State]] = {
    # RECEIVED → CREATE_FAILED: the instance does not exist; refused privately, nothing posted.
    # From RECEIVED, PENDING_APPROVAL and APPROVED (nothing sent to the cloud yet), CREATE_FAILED is also
    # how the bot gives up on a request whose work it cannot do (error_code GAVE_UP).
    State.RECEIVED: frozenset({State.PENDING_APPROVAL, State.CREATING, State.SCHEDULED, State.CREATE_FAILED}),
    State.PENDING_APPROVAL: frozenset(
        {State.APPROVED, State.REJECTED, State.EXPIRED, State.CANCELLED, State.CREATE_FAILED}
    ),
    State.APPROVED: frozenset({State.CREATING, State.SCHEDULED, State.CREATE_FAILED}),
    # A request planned for later (--at) may be cancelled until it starts.
    State.SCHEDULED: frozenset({State.CREATING, State.CANCELLED, State.CREATE_FAILED}),
    State.CREATING: frozenset({State.BUILDING, State.CREATE_FAILED}),
    # TIMED_OUT is not final for the cloud: the poller keeps watching and reports the real end.
    State.BUILDING: frozenset({State.COMPLETED, State.FAILED, State.TIMED_OUT}),
    State.TIMED_OUT: frozenset({State.COMPLETED, State.FAILED}),
}


# The bot's own error codes, stored in ``BackupRequest.error_code`` beside the cloud's (``DBS.…``); the
# reason shown for them is the catalog's, in the reader's language.
NOT_IN_CHANNEL = "slack.not_in_channel"
INSTANCE_NOT_FOUND = "InstanceNotFound"
AMBIGUOUS_INSTANCE = "AmbiguousInstance"
NOT_AUTHORIZED = "not_authorized"
NAME_TAKEN = "DBS.201209"  # the service's own code for "the backup name already exists"
NOT_A_MEMBER = "slack.not_a_member"  # the requester is not in the channel they asked to post in
BAD_START = "bot.bad_start"  # --at named a time in the past or more than seven days ahead
KEEP_REFUSED = "bot.keep_refused"  # --keep asked for longer than the policy allows this person
GAVE_UP = "bot.gave_up"  # the bot's own work for the request failed past its attempt budget


def can_move(current: State, target: State) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
# byte → its character (byte % 32): 256 is a multiple of 32, so every character is as likely as the byte
_ID_CHARACTERS = bytes(ord(_ID_ALPHABET[b % 32]) for b in range(256))


def new_request_id() -> str:
    """Short, URL- and Slack-safe, unguessable: ``r-`` + 10 base32 characters, from one read of the
    OS's randomness (``secrets.token_bytes``) mapped in one step (a third of the cost of a character
    at a time, on the web path of every request)."""
    return "r-" + secrets.token_bytes(10).translate(_ID_CHARACTERS).decode("ascii")


def utcnow() -> datetime:
    return datetime.now(UTC)


class BackupRequest(BaseModel):
    """Everything the bot knows about one request. Stored as JSON in Redis."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=new_request_id)
    state: State = State.RECEIVED
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    # who and where
    team_id: str = ""
    channel_id: str
    user_id: str
    language: str = "en-us"  # en-us | zh-cn, the requester's
    verify_channel: bool = False  # check the requester is in channel_id before posting there

    # what
    instance_ref: str  # as the user typed it (ID or name)
    instance_id: str = ""  # resolved by the worker
    instance_name: str = ""
    region: str = ""  # the instance's region (fleets)
    project_id: str = ""  # the project of that region, whose poller watches the backup
    show_region: bool = False  # the bot serves several regions: people see <region>/<name>
    backup_name: str
    description: str = ""
    reference: str = ""  # change or incident reference (modal)

    # Slack: each *_ts marks a message as posted, so a retried step never posts it twice
    parent_ts: str = ""  # the channel message that roots the thread
    permalink: str = ""  # a link to that thread (chat.getPermalink), for the App Home
    created_reply_ts: str = ""
    timeout_reply_ts: str = ""
    final_reply_ts: str = ""
    busy_notice_ts: str = ""
    response_url: str = ""

    # authorization: the requester's policy role when the request was taken, by name ("" while not
    # known: the group or user cache was cold, and the worker settles it; numbers are an older form)
    role: str = ""

    # approval
    needs_approval: bool = False
    decision_reply_ts: str = ""
    decided_by: str = ""
    decision_reason: str = ""
    expires_at: datetime | None = None
    deadline: float | None = None  # expires_at as Redis server time (epoch s): what decisions check
    approvers: list[str] = Field(default_factory=list)  # who may approve (policy members), at request time
    # the Slack ID of each approver group (by handle) known when the wait began: every rendering of
    # the waiting request, updates included, names the approvers as the first one did
    approver_group_ids: dict[str, str] = Field(default_factory=dict)
    approvals_needed: int = 1
    gate_rule: int | None = None  # which approval.rules entry asked for approval (None: the default)
    approvals: list[str] = Field(default_factory=list)  # approvers who said yes, in order
    notify: str = "channel"  # where approvers are asked: channel | dm | both
    dm_copies: list[list[str]] = Field(default_factory=list)  # [approver, channel, ts] of each DM copy
    break_glass_allowed: bool = False  # the requester may start it at once (a button on the request)
    break_glass: bool = False  # they did

    # later: when it starts (--at), how long the backup is kept (--keep, the policy's retention)
    at_asked: str = ""  # --at as typed: read in the requester's time zone by the worker
    start_at: float | None = None  # Redis time the backup is planned to start (None: at once)
    start_reply_ts: str = ""  # "starting as planned"
    keep_asked: str = ""  # --keep as typed ("" = the policy's default)
    keep_for: float | None = None  # seconds the backup is kept after it completes (None: forever)
    keep_settled: bool = False  # keep_for was decided (at admission)
    delete_at: float | None = None  # Redis time the backup is planned to be deleted
    deletion: str = ""  # "" | planned | deleting | deleted | gone (deleted by someone else) | failed
    deleted_at: datetime | None = None
    notice_for: float | None = None  # the delete_at the one-day notice was sent for
    deletion_reply_ts: str = ""
    deletion_problem_ts: str = ""  # the one report of a refused delete

    # cloud
    create_attempted: bool = False  # a POST may have reached the cloud: look before posting again
    create_tries: int = 0
    backup_id: str = ""
    job_id: str = ""
    begin_time: datetime | None = None
    end_time: datetime | None = None
    size_mb: float | None = None
    progress: int | None = None
    error_code: str = ""
    error_msg: str = ""
    cloud_request_id: str = ""

    @field_validator("role", mode="before")
    @classmethod
    def _role_by_name(cls, value: object) -> object:
        # Requests stored before the viewer role existed say 1 requester, 2 operator, 3 approver.
        if isinstance(value, int) and not isinstance(value, bool):
            return {0: "none", 1: "requester", 2: "operator", 3: "approver"}.get(value, "")
        return value


def instance_label(request: BackupRequest) -> str:
    """How people see the request's instance: ``<region>/<name>`` when the bot serves several
    regions, else its name (its ID before it was resolved)."""
    name = request.instance_name or request.instance_id
    if request.show_region and request.region and name:
        return f"{request.region}/{name}"
    return name
