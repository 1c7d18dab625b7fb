"""Block Kit messages the bot posts, built from domain objects. Pure: no I/O, no Slack client.

Every builder returns a :class:`Message` with a top-level ``text`` (the notification and
accessibility fallback) and ``blocks``. Text anyone could have typed — instance references, backup
names and descriptions, references, error messages from the cloud — is escaped with
:func:`bot.slack.text.escape` and bounded in length, so it can never ping ``@channel``, mention
someone or become a link, and never breaks Slack's size limits. User input never goes into
``plain_text`` objects (headers), only into ``mrkdwn`` where it is escaped.

All English wording lives in :data:`STRINGS`, :data:`STATE_LABELS` and :data:`STATUS_LABELS`, ready
to move into message catalogs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.cloud.models import BackupRecord, BackupStatus
from bot.domain.request import BackupRequest, State
from bot.slack.text import escape, format_duration, format_size, format_time

Block = dict[str, Any]

# --- wording --------------------------------------------------------------------------------------

STATE_LABELS: dict[State, tuple[str, str]] = {
    State.RECEIVED: (":inbox_tray:", "received"),
    State.PENDING_APPROVAL: (":raised_hand:", "waiting for approval"),
    State.APPROVED: (":ballot_box_with_check:", "approved"),
    State.REJECTED: (":no_entry_sign:", "rejected"),
    State.EXPIRED: (":hourglass:", "expired"),
    State.CREATING: (":gear:", "starting"),
    State.BUILDING: (":hourglass_flowing_sand:", "in progress"),
    State.COMPLETED: (":white_check_mark:", "completed"),
    State.FAILED: (":x:", "failed"),
    State.TIMED_OUT: (":alarm_clock:", "still running"),
    State.CREATE_FAILED: (":x:", "refused by the cloud"),
}

STATUS_LABELS: dict[BackupStatus, tuple[str, str]] = {
    BackupStatus.BUILDING: (":hourglass_flowing_sand:", "in progress"),
    BackupStatus.COMPLETED: (":white_check_mark:", "completed"),
    BackupStatus.AVAILABLE: (":white_check_mark:", "available"),
    BackupStatus.FAILED: (":x:", "failed"),
}

STRINGS: dict[str, str] = {
    # parent message
    "parent.header": "{emoji} Backup {state}",
    "parent.title": "Backup {name} of {instance}",
    "parent.fallback": "{emoji} Backup {name} of {instance} {state} (requested by {requester})",
    "field.requester": "*Requested by*\n{value}",
    "field.instance": "*Instance*\n{value}",
    "field.name": "*Backup name*\n{value}",
    "field.state": "*State*\n{value}",
    "field.reference": "*Reference*\n{value}",
    "field.backup_id": "*Backup ID*\n{value}",
    "field.job_id": "*Job ID*\n{value}",
    "field.started": "*Started*\n{value}",
    "field.finished": "*Finished*\n{value}",
    "field.size": "*Size*\n{value}",
    "field.duration": "*Duration*\n{value}",
    "field.reason": "*Reason*\n{value}",
    "field.error_code": "*Error code*\n{value}",
    "field.status": "*Status*\n{value}",
    "field.decided_by.approved": "*Approved by*\n{value}",
    "field.decided_by.rejected": "*Rejected by*\n{value}",
    "field.cloud_request_id": "*Cloud request ID*\n{value}",
    "description": "*Description*\n{value}",
    "progress": "*Progress*  {bar} {percent}%",
    "progress.unknown": "*Progress*  waiting for the first report from the cloud",
    "pending.note": "Waiting for an approver to approve or reject this request.",
    "pending.approvers": "*Approvers:* {who}",
    "button.approve": "Approve",
    "button.reject": "Reject",
    "confirm.title": "Approve this backup?",
    "confirm.text": "Backup {name} of {instance} will start as soon as you confirm.",
    "confirm.yes": "Approve",
    "confirm.no": "Cancel",
    "decision.approved": ":white_check_mark: Approved by {decider}. Starting the backup.",
    "decision.not_approver": (
        ":no_entry: You cannot approve or reject this request: only approvers can. {who_can_help}"
    ),
    "decision.own_request": ":no_entry: You cannot approve or reject your own request.",
    "decision.already": ":information_source: This request was already {outcome} by {decider}.",
    "decision.expired": ":hourglass: This request has expired; nothing can be approved any more.",
    "decision.gone": ":warning: This request no longer exists.",
    "decision.closed": ":information_source: This request is already {state}.",
    "refused.no_role": ":no_entry: You are not allowed to take backups with this bot. {who_can_help}",
    "refused.who": "Ask {who}.",
    "refused.nobody": "Ask whoever manages the bot's policy file.",
    "audit.title": "*Audit log* (latest {count})",
    "audit.empty": "The audit log is empty.",
    "audit.not_allowed": ":no_entry: Only approvers can read the audit log.",
    "pending.expires": "Waiting for an approver; the request expires {when}.",
    "context": "Request {request_id} · asked {when}",
    "instance.with_id": "{name} ({id})",
    "none": "—",
    "unknown": "unknown",
    # thread replies
    "created.text": ":rocket: Backup {name} started: backup ID {backup_id}, job ID {job_id}.",
    "created.lead": ":rocket: The backup has started.",
    "completed.text": (
        "{requester} :white_check_mark: Backup {name} of {instance} completed ({size}, {duration})."
    ),
    "failed.text": "{requester} :x: Backup {name} of {instance} failed: {reason}",
    "failed.no_reason": "the cloud gave no reason",
    "create_failed.text": "{requester} :x: The cloud refused to create backup {name} of {instance}: {reason}",
    "timed_out.text": (
        "{requester} :alarm_clock: Backup {name} of {instance} is still running after {timeout}."
    ),
    "timed_out.next": (
        "This is not a failure. The bot keeps watching the backup and will post the real result "
        "in this thread when the cloud reports it."
    ),
    "timed_out.default_timeout": "the usual time",
    "rejected.text": "{requester} :no_entry_sign: Your backup request was rejected by {decider}.",
    "rejected.reason": "*Reason*\n{value}",
    "expired.text": (
        "{requester} :hourglass: Your backup request expired before anyone approved it; nothing was created."
    ),
    "final.not_final": "final_reply needs a request in a final state, not {state}",
    # errors and help
    "error.text": ":warning: {problem}",
    "error.usage": "Usage:\n```{usage}```",
    "help.title": "*Take a manual TaurusDB backup*",
    "help.usage": "```{usage}```",
    "help.fallback": "How to use /backup",
    "help.note": "• {note}",
    # acknowledgements and notices
    "received.text": ":inbox_tray: Request {request_id} received: backup {name} of {instance}.",
    "received.next": "Progress will appear in a thread in {channel}.",
    "received.approval": "An approver has to approve it first; you will be told in the thread.",
    "looking_up.text": ":mag: Looking that up; the answer will appear here in a moment.",
    "unavailable.text": (
        ":warning: The bot cannot reach its database right now, so nothing was recorded. "
        "Please try again in a minute."
    ),
    "instance_not_found.text": ":warning: No TaurusDB instance is named {ref} or has that ID.",
    "instance_not_found.suggest": "Did you mean {names}?",
    "not_in_channel.hint": (
        ":wave: I cannot post in {channel} yet because I am not a member. "
        "Invite me with `/invite @backup-bot` and your request {request_id} will continue there."
    ),
    "not_in_channel.gave_up": (
        ":no_entry_sign: Request {request_id} was cancelled: I was never invited to {channel}, "
        "so no backup was made. Invite me with `/invite @backup-bot` and ask again."
    ),
    "busy.text": (
        ":hourglass: The instance is busy ({reason}). The bot will try again by itself; "
        "nothing needs to be done."
    ),
    "busy.no_reason": "another operation is running",
    # status and list of cloud backups
    "record.title": "{emoji} Backup {name} is {status}",
    "record.fallback": "Backup {name} is {status}",
    "list.title": "*Latest backups of {instance}* ({count})",
    "list.fallback": "Latest backups of {instance}: {count}",
    "list.empty": "No backups found for {instance}.",
    "list.item": "{emoji} {name} · {status} · {when} · {size}\nID {backup_id}",
    "list.more": "…and {count} more.",
}


def _t(key: str, **values: object) -> str:
    return STRINGS[key].format(**values)


# --- limits ---------------------------------------------------------------------------------------

# Raw characters kept from each piece of user or cloud text before escaping (escaping can multiply
# the length by five); chosen so every block stays far inside Slack's limits
# (section text 3000, field 2000, header 150, blocks per message 50).
_MAX_NAME = 100
_MAX_INSTANCE = 100
_MAX_DESCRIPTION = 300
_MAX_REFERENCE = 200
_MAX_ERROR = 400
_MAX_ID = 80
_MAX_PROBLEM = 400
_MAX_USAGE = 500
_MAX_NOTE = 300
_MAX_NOTES = 10
_MAX_LIST_ITEMS = 40
_PROGRESS_CELLS = 10
_SLACK_USER_ID_RE = re.compile(r"[UW][A-Z0-9]{1,20}")
_SLACK_CHANNEL_ID_RE = re.compile(r"[CGD][A-Z0-9]{1,20}")
_MAX_SUGGESTIONS = 5


@dataclass(frozen=True, slots=True)
class Message:
    """A message ready for ``chat.postMessage`` / ``chat.update`` / ``chat.postEphemeral``."""

    text: str
    blocks: list[Block]

    def as_kwargs(self) -> dict[str, Any]:
        """``client.chat_postMessage(channel=…, **message.as_kwargs())``."""
        return {"text": self.text, "blocks": self.blocks}


# --- safe pieces of text --------------------------------------------------------------------------


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _user_text(value: str, limit: int) -> str:
    """User or cloud text for mrkdwn: clipped, then escaped (never the other way round)."""
    return escape(_clip(value, limit))


def _code(value: str, limit: int = _MAX_ID) -> str:
    """An identifier in a code span; a backtick inside would end the span, so then it is plain."""
    if not value:
        return _t("none")
    safe = _user_text(value, limit)
    return safe if "`" in value else f"`{safe}`"


def _mention(user_id: str) -> str:
    """``<@U…>`` for a real-looking Slack user ID, the escaped text otherwise."""
    if _SLACK_USER_ID_RE.fullmatch(user_id):
        return f"<@{user_id}>"
    return _user_text(user_id, _MAX_ID) if user_id else _t("unknown")


def _channel(channel_id: str) -> str:
    """``<#C…>`` for a real-looking channel ID, the escaped text otherwise."""
    if _SLACK_CHANNEL_ID_RE.fullmatch(channel_id):
        return f"<#{channel_id}>"
    return _user_text(channel_id, _MAX_ID) if channel_id else _t("unknown")


def _instance(req: BackupRequest) -> str:
    if req.instance_name and req.instance_id:
        return _t(
            "instance.with_id", name=_user_text(req.instance_name, _MAX_INSTANCE), id=_code(req.instance_id)
        )
    if req.instance_name:
        return _user_text(req.instance_name, _MAX_INSTANCE)
    if req.instance_id:
        return _code(req.instance_id)
    return _user_text(req.instance_ref, _MAX_INSTANCE) or _t("unknown")


def _instance_short(req: BackupRequest) -> str:
    return _user_text(req.instance_name or req.instance_id or req.instance_ref, _MAX_INSTANCE) or _t(
        "unknown"
    )


def _state(state: State) -> str:
    emoji, word = STATE_LABELS[state]
    return f"{emoji} {word}"


def _progress_bar(percent: int) -> str:
    percent = max(0, min(100, percent))
    filled = round(percent * _PROGRESS_CELLS / 100)
    return "▰" * filled + "▱" * (_PROGRESS_CELLS - filled)


def _duration(begin: datetime | None, end: datetime | None) -> str:
    if begin is None or end is None:
        return _t("unknown")
    return format_duration((end - begin).total_seconds())


def _reason(req: BackupRequest) -> str:
    return _user_text(req.error_msg, _MAX_ERROR) if req.error_msg else _t("failed.no_reason")


# --- blocks ---------------------------------------------------------------------------------------


def _header(text: str) -> Block:
    # Only our own wording goes here: plain_text is not escaped by Slack's rules.
    return {"type": "header", "text": {"type": "plain_text", "text": _clip(text, 150), "emoji": True}}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, 3000)}}


def _fields(fields: list[str]) -> list[Block]:
    """Section blocks of two-column fields, at most ten fields per section."""
    return [
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": _clip(f, 2000)} for f in fields[i : i + 10]],
        }
        for i in range(0, len(fields), 10)
    ]


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(text, 3000)}]}


def _divider() -> Block:
    return {"type": "divider"}


# --- request messages -----------------------------------------------------------------------------


def _request_fields(req: BackupRequest) -> list[str]:
    fields = [
        _t("field.requester", value=_mention(req.user_id)),
        _t("field.instance", value=_instance(req)),
        _t("field.name", value=_code(req.backup_name, _MAX_NAME)),
        _t("field.state", value=_state(req.state)),
    ]
    if req.reference:
        fields.append(_t("field.reference", value=_user_text(req.reference, _MAX_REFERENCE)))
    if req.decided_by and req.state not in (State.RECEIVED, State.PENDING_APPROVAL, State.EXPIRED):
        key = "field.decided_by.rejected" if req.state is State.REJECTED else "field.decided_by.approved"
        fields.append(_t(key, value=_mention(req.decided_by)))
    if req.backup_id:
        fields.append(_t("field.backup_id", value=_code(req.backup_id)))
    if req.state is State.COMPLETED:
        fields.append(_t("field.size", value=format_size(req.size_mb)))
        fields.append(_t("field.duration", value=_duration(req.begin_time, req.end_time)))
    if req.state in (State.FAILED, State.CREATE_FAILED):
        fields.append(_t("field.reason", value=_reason(req)))
        if req.error_code:
            fields.append(_t("field.error_code", value=_code(req.error_code)))
    return fields


def _request_blocks(req: BackupRequest, approvers: list[str] | None = None) -> list[Block]:
    emoji, word = STATE_LABELS[req.state]
    blocks: list[Block] = [
        _header(_t("parent.header", emoji=emoji, state=word)),
        _section(_t("parent.title", name=_code(req.backup_name, _MAX_NAME), instance=_instance_short(req))),
        *_fields(_request_fields(req)),
    ]
    if req.description:
        blocks.append(_section(_t("description", value=_user_text(req.description, _MAX_DESCRIPTION))))
    if req.state is State.BUILDING:
        if req.progress is None:
            blocks.append(_section(_t("progress.unknown")))
        else:
            blocks.append(_section(_t("progress", bar=_progress_bar(req.progress), percent=req.progress)))
    if req.state is State.PENDING_APPROVAL:
        note = (
            _t("pending.expires", when=format_time(req.expires_at)) if req.expires_at else _t("pending.note")
        )
        blocks.append(_section(note))
        if approvers:
            blocks.append(_section(_t("pending.approvers", who=" ".join(approvers[:20]))))
        blocks.append(_decision_buttons(req))
    blocks.append(_context(_t("context", request_id=_code(req.id), when=format_time(req.created_at))))
    return blocks


APPROVE_ACTION = "approve_request"
REJECT_ACTION = "reject_request"


def _decision_buttons(req: BackupRequest) -> Block:
    """Approve (with a confirmation) and Reject; the value carries only the request id."""
    plain = escape(_clip(req.backup_name, _MAX_NAME))
    return {
        "type": "actions",
        "block_id": f"decide:{req.id}",
        "elements": [
            {
                "type": "button",
                "action_id": APPROVE_ACTION,
                "text": {"type": "plain_text", "text": _t("button.approve")},
                "style": "primary",
                "value": req.id,
                "confirm": {
                    "title": {"type": "plain_text", "text": _t("confirm.title")},
                    "text": {
                        "type": "mrkdwn",
                        "text": _t("confirm.text", name=plain, instance=_instance_short(req)),
                    },
                    "confirm": {"type": "plain_text", "text": _t("confirm.yes")},
                    "deny": {"type": "plain_text", "text": _t("confirm.no")},
                },
            },
            {
                "type": "button",
                "action_id": REJECT_ACTION,
                "text": {"type": "plain_text", "text": _t("button.reject")},
                "style": "danger",
                "value": req.id,
            },
        ],
    }


def _request_fallback(req: BackupRequest) -> str:
    emoji, word = STATE_LABELS[req.state]
    return _t(
        "parent.fallback",
        emoji=emoji,
        name=_code(req.backup_name, _MAX_NAME),
        instance=_instance_short(req),
        state=word,
        requester=_mention(req.user_id),
    )


def parent_message(req: BackupRequest, approvers: list[str] | None = None) -> Message:
    """The channel message that roots the request's thread; updated in place as the state moves.

    While the request waits for approval it carries Approve/Reject buttons and mentions
    ``approvers`` (ready mrkdwn mentions); any other state has no buttons, so an update after the
    decision removes them.
    """
    return Message(text=_request_fallback(req), blocks=_request_blocks(req, approvers))


def decision_reply(req: BackupRequest) -> Message:
    """Thread reply recording who approved the request."""
    return _simple(_t("decision.approved", decider=_mention(req.decided_by)))


def _simple(text: str) -> Message:
    return Message(text=text, blocks=[_section(text)])


def cannot_decide(reason: str, who_can_help: list[str]) -> Message:
    """Private answer to someone who may not decide (``not_an_approver`` or ``own_request``)."""
    if reason == "own_request":
        return _simple(_t("decision.own_request"))
    return _simple(_t("decision.not_approver", who_can_help=_who(who_can_help)))


def already_decided(req: BackupRequest) -> Message:
    """Private answer to the second of two deciders (or to a click on a closed request)."""
    if req.state is State.EXPIRED:
        return _simple(_t("decision.expired"))
    if req.decided_by:
        outcome = "rejected" if req.state is State.REJECTED else "approved"
        return _simple(_t("decision.already", outcome=outcome, decider=_mention(req.decided_by)))
    return _simple(_t("decision.closed", state=STATE_LABELS[req.state][1]))


def request_gone() -> Message:
    return _simple(_t("decision.gone"))


def _who(who_can_help: list[str]) -> str:
    return _t("refused.who", who=", ".join(who_can_help)) if who_can_help else _t("refused.nobody")


def no_role(who_can_help: list[str]) -> Message:
    """Private refusal for a user who holds no role, naming who can help."""
    return _simple(_t("refused.no_role", who_can_help=_who(who_can_help)))


def audit_not_allowed() -> Message:
    return _simple(_t("audit.not_allowed"))


def audit_list(lines: list[str]) -> Message:
    """``/backup audit``: one line per entry, newest first (lines are already safe mrkdwn)."""
    if not lines:
        return _simple(_t("audit.empty"))
    title = _t("audit.title", count=len(lines))
    body = "\n".join(lines[:_MAX_LIST_ITEMS])
    return Message(text=title, blocks=[_section(title), _section(_clip(body, 2900))])


def created_reply(req: BackupRequest) -> Message:
    """Thread reply once the cloud accepted the create: backup ID, job ID and start time."""
    fields = [
        _t("field.backup_id", value=_code(req.backup_id)),
        _t("field.job_id", value=_code(req.job_id)),
        _t("field.started", value=format_time(req.begin_time) if req.begin_time else _t("unknown")),
    ]
    text = _t(
        "created.text",
        name=_code(req.backup_name, _MAX_NAME),
        backup_id=_code(req.backup_id),
        job_id=_code(req.job_id),
    )
    return Message(text=text, blocks=[_section(_t("created.lead")), *_fields(fields)])


def final_reply(req: BackupRequest, *, timeout_s: float | None = None) -> Message:
    """Thread reply with the outcome, mentioning the requester.

    ``timeout_s`` is the poll timeout, shown when the request is ``TIMED_OUT``.
    Raises ``ValueError`` for a request that is not in a final state (a programming error).
    """
    common = {
        "requester": _mention(req.user_id),
        "name": _code(req.backup_name, _MAX_NAME),
        "instance": _instance_short(req),
    }
    fields: list[str] = []
    extra: list[Block] = []
    if req.state is State.COMPLETED:
        size = format_size(req.size_mb)
        duration = _duration(req.begin_time, req.end_time)
        text = _t("completed.text", size=size, duration=duration, **common)
        fields = [
            _t("field.size", value=size),
            _t("field.duration", value=duration),
            _t("field.backup_id", value=_code(req.backup_id)),
        ]
        if req.end_time:
            fields.append(_t("field.finished", value=format_time(req.end_time)))
    elif req.state in (State.FAILED, State.CREATE_FAILED):
        key = "failed.text" if req.state is State.FAILED else "create_failed.text"
        text = _t(key, reason=_reason(req), **common)
        fields = [_t("field.reason", value=_reason(req))]
        if req.error_code:
            fields.append(_t("field.error_code", value=_code(req.error_code)))
        if req.backup_id:
            fields.append(_t("field.backup_id", value=_code(req.backup_id)))
        if req.cloud_request_id:
            fields.append(_t("field.cloud_request_id", value=_code(req.cloud_request_id)))
    elif req.state is State.TIMED_OUT:
        timeout = format_duration(timeout_s) if timeout_s is not None else _t("timed_out.default_timeout")
        text = _t("timed_out.text", timeout=timeout, **common)
        extra = [_section(_t("timed_out.next"))]
        if req.backup_id:
            fields.append(_t("field.backup_id", value=_code(req.backup_id)))
        if req.progress is not None:
            fields.append(_t("progress", bar=_progress_bar(req.progress), percent=req.progress))
    elif req.state is State.REJECTED:
        text = _t("rejected.text", decider=_mention(req.decided_by), **common)
        if req.decision_reason:
            fields = [_t("rejected.reason", value=_user_text(req.decision_reason, _MAX_ERROR))]
    elif req.state is State.EXPIRED:
        text = _t("expired.text", **common)
    else:
        raise ValueError(_t("final.not_final", state=req.state.value))
    return Message(text=text, blocks=[_section(text), *extra, *_fields(fields)])


# --- replies to commands --------------------------------------------------------------------------


def error_ephemeral(problem: str, usage: str | None = None) -> Message:
    """A private answer saying what is wrong and, when known, the syntax that works."""
    safe_problem = _user_text(problem, _MAX_PROBLEM)
    text = _t("error.text", problem=safe_problem)
    blocks = [_section(text)]
    if usage:
        blocks.append(_section(_t("error.usage", usage=_user_text(usage, _MAX_USAGE))))
    return Message(text=text, blocks=blocks)


def help_message(usage: str, notes: list[str]) -> Message:
    """``/backup help``: the usage block and notes about this deployment.

    ``notes`` are the bot's own mrkdwn (they may mention people on purpose); callers escape any
    user-derived part of a note with :func:`bot.slack.text.escape`.
    """
    blocks = [
        _section(_t("help.title")),
        _section(_t("help.usage", usage=_user_text(usage, 2500))),
    ]
    shown = [_t("help.note", note=_clip(note, _MAX_NOTE)) for note in notes[:_MAX_NOTES]]
    if shown:
        blocks.append(_section("\n".join(shown)))
    return Message(text=_t("help.fallback"), blocks=blocks)


def received(req: BackupRequest) -> Message:
    """The private acknowledgement of ``/backup create``: what was recorded and where to look."""
    text = _t(
        "received.text",
        request_id=_code(req.id),
        name=_code(req.backup_name, _MAX_NAME),
        instance=_instance_short(req),
    )
    lines = [text, _t("received.next", channel=_channel(req.channel_id))]
    if req.needs_approval:
        lines.append(_t("received.approval"))
    return Message(text=text, blocks=[_section("\n".join(lines))])


def looking_up() -> Message:
    """The private acknowledgement of a lookup answered later through the response URL."""
    text = _t("looking_up.text")
    return Message(text=text, blocks=[_section(text)])


def unavailable() -> Message:
    """The private answer when the bot's store cannot be reached: nothing was recorded."""
    text = _t("unavailable.text")
    return Message(text=text, blocks=[_section(text)])


def instance_not_found(ref: str, suggestions: list[str]) -> Message:
    """No instance has that name or ID; ``suggestions`` are close names (shown escaped)."""
    text = _t("instance_not_found.text", ref=_code(ref, _MAX_INSTANCE))
    lines = [text]
    if suggestions:
        names = ", ".join(_code(name, _MAX_INSTANCE) for name in suggestions[:_MAX_SUGGESTIONS])
        lines.append(_t("instance_not_found.suggest", names=names))
    return Message(text=text, blocks=[_section("\n".join(lines))])


def invite_hint(req: BackupRequest) -> Message:
    """Private note: the bot is not in the request's channel yet and keeps trying."""
    text = _t("not_in_channel.hint", channel=_channel(req.channel_id), request_id=_code(req.id))
    return Message(text=text, blocks=[_section(text)])


def gave_up_not_in_channel(req: BackupRequest) -> Message:
    """Private note: the bot was never invited, so the request was dropped and nothing was made."""
    text = _t("not_in_channel.gave_up", channel=_channel(req.channel_id), request_id=_code(req.id))
    return Message(text=text, blocks=[_section(text)])


def busy_notice(req: BackupRequest, error_msg: str) -> Message:
    """Thread reply: the cloud said the instance is busy; the create is retried automatically."""
    reason = _user_text(error_msg, _MAX_ERROR) if error_msg else _t("busy.no_reason")
    text = _t("busy.text", reason=reason)
    return Message(text=text, blocks=[_section(text)])


def status_message(item: BackupRequest | BackupRecord) -> Message:
    """``/backup status``: a request the bot knows, or a backup found in the cloud."""
    if isinstance(item, BackupRequest):
        return parent_message(item)
    return record_status(item)


def record_status(record: BackupRecord) -> Message:
    """A backup as the cloud lists it (``/backup status`` for a backup the bot did not track)."""
    emoji, word = STATUS_LABELS[record.status]
    name = _code(record.name, _MAX_NAME)
    if record.instance_name:
        instance = _t(
            "instance.with_id",
            name=_user_text(record.instance_name, _MAX_INSTANCE),
            id=_code(record.instance_id),
        )
    else:
        instance = _code(record.instance_id)
    fields = [
        _t("field.backup_id", value=_code(record.id)),
        _t("field.instance", value=instance),
        _t("field.status", value=f"{emoji} {word}"),
        _t("field.started", value=format_time(record.begin_time) if record.begin_time else _t("unknown")),
    ]
    if record.end_time:
        fields.append(_t("field.finished", value=format_time(record.end_time)))
    if record.status.finished:
        fields.append(_t("field.size", value=format_size(record.size)))
        duration = (
            format_duration(record.take_up_time * 60)
            if record.take_up_time is not None
            else _duration(record.begin_time, record.end_time)
        )
        fields.append(_t("field.duration", value=duration))
    if record.fail_reason:
        fields.append(_t("field.reason", value=_user_text(record.fail_reason, _MAX_ERROR)))
    blocks = [_section(_t("record.title", emoji=emoji, name=name, status=word)), *_fields(fields)]
    if record.description:
        blocks.append(_section(_t("description", value=_user_text(record.description, _MAX_DESCRIPTION))))
    return Message(text=_t("record.fallback", name=name, status=word), blocks=blocks)


def backup_list_message(instance_name: str, records: list[BackupRecord]) -> Message:
    """``/backup list``: the latest backups of one instance, newest first as given."""
    instance = _user_text(instance_name, _MAX_INSTANCE) or _t("unknown")
    if not records:
        text = _t("list.empty", instance=instance)
        return Message(text=text, blocks=[_section(text)])
    blocks: list[Block] = [_section(_t("list.title", instance=instance, count=len(records))), _divider()]
    for record in records[:_MAX_LIST_ITEMS]:
        emoji, word = STATUS_LABELS[record.status]
        when = format_time(record.begin_time) if record.begin_time else _t("unknown")
        item = _t(
            "list.item",
            emoji=emoji,
            name=_code(record.name, _MAX_NAME),
            status=word,
            when=when,
            size=format_size(record.size),
            backup_id=_code(record.id),
        )
        blocks.append(_section(item))
    if len(records) > _MAX_LIST_ITEMS:
        blocks.append(_context(_t("list.more", count=len(records) - _MAX_LIST_ITEMS)))
    return Message(text=_t("list.fallback", instance=instance, count=len(records)), blocks=blocks)
