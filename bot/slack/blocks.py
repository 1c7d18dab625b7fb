"""Block Kit messages the bot posts, built from domain objects. Pure: no I/O, no Slack client.

Every builder returns a :class:`Message` with a top-level ``text`` (the notification and
accessibility fallback) and ``blocks``. Text anyone could have typed — instance references, backup
names and descriptions, references, error messages from the cloud — is escaped with
:func:`bot.slack.text.escape` and bounded in length, so it can never ping ``@channel``, mention
someone or become a link, and never breaks Slack's size limits. User input never goes into
``plain_text`` objects (headers), only into ``mrkdwn`` where it is escaped.

Every sentence comes from the message catalogs (:mod:`bot.i18n`) in the reader's language: a message
about a request is in the requester's (``BackupRequest.language``) unless the builder is told
otherwise; a private answer to anyone else takes their ``lang``. Only emoji and identifiers live here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.cloud.models import BackupRecord, BackupStatus
from bot.domain.request import BackupRequest, State
from bot.i18n import as_lang, localize, t
from bot.slack.text import escape, format_duration, format_size, format_time

Block = dict[str, Any]

# --- wording: every sentence comes from the catalogs (bot/i18n); only emoji live here ------------

STATE_EMOJI: dict[State, str] = {
    State.RECEIVED: ":inbox_tray:",
    State.PENDING_APPROVAL: ":raised_hand:",
    State.APPROVED: ":ballot_box_with_check:",
    State.REJECTED: ":no_entry_sign:",
    State.EXPIRED: ":hourglass:",
    State.CREATING: ":gear:",
    State.BUILDING: ":hourglass_flowing_sand:",
    State.COMPLETED: ":white_check_mark:",
    State.FAILED: ":x:",
    State.TIMED_OUT: ":alarm_clock:",
    State.CREATE_FAILED: ":x:",
}

STATUS_EMOJI: dict[BackupStatus, str] = {
    BackupStatus.BUILDING: ":hourglass_flowing_sand:",
    BackupStatus.COMPLETED: ":white_check_mark:",
    BackupStatus.AVAILABLE: ":white_check_mark:",
    BackupStatus.FAILED: ":x:",
}

# The bot's own error codes, stored in ``BackupRequest.error_code`` beside the cloud's (``DBS.…``);
# the reason shown for them is the catalog's, in the reader's language.
NOT_IN_CHANNEL = "slack.not_in_channel"
INSTANCE_NOT_FOUND = "InstanceNotFound"
AMBIGUOUS_INSTANCE = "AmbiguousInstance"
NOT_AUTHORIZED = "not_authorized"


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
_NONE = "—"


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
        return _NONE
    safe = _user_text(value, limit)
    return safe if "`" in value else f"`{safe}`"


def _mention(user_id: str, lang: str) -> str:
    """``<@U…>`` for a real-looking Slack user ID, the escaped text otherwise."""
    if _SLACK_USER_ID_RE.fullmatch(user_id):
        return f"<@{user_id}>"
    return _user_text(user_id, _MAX_ID) if user_id else t(lang, "unknown")


def _channel(channel_id: str, lang: str) -> str:
    """``<#C…>`` for a real-looking channel ID, the escaped text otherwise."""
    if _SLACK_CHANNEL_ID_RE.fullmatch(channel_id):
        return f"<#{channel_id}>"
    return _user_text(channel_id, _MAX_ID) if channel_id else t(lang, "unknown")


def _instance(req: BackupRequest, lang: str) -> str:
    if req.instance_name and req.instance_id:
        return t(
            lang,
            "instance.with_id",
            name=_user_text(req.instance_name, _MAX_INSTANCE),
            id=_code(req.instance_id),
        )
    if req.instance_name:
        return _user_text(req.instance_name, _MAX_INSTANCE)
    if req.instance_id:
        return _code(req.instance_id)
    return _user_text(req.instance_ref, _MAX_INSTANCE) or t(lang, "unknown")


def _instance_short(req: BackupRequest, lang: str) -> str:
    shown = _user_text(req.instance_name or req.instance_id or req.instance_ref, _MAX_INSTANCE)
    return shown or t(lang, "unknown")


def _state_word(state: State, lang: str) -> str:
    return t(lang, f"state.{state.name}")


def _state(state: State, lang: str) -> str:
    return f"{STATE_EMOJI[state]} {_state_word(state, lang)}"


def _status_word(status: BackupStatus, lang: str) -> str:
    return t(lang, f"status.{status.name}")


def _progress_bar(percent: int) -> str:
    percent = max(0, min(100, percent))
    filled = round(percent * _PROGRESS_CELLS / 100)
    return "▰" * filled + "▱" * (_PROGRESS_CELLS - filled)


def _duration(begin: datetime | None, end: datetime | None, lang: str) -> str:
    if begin is None or end is None:
        return t(lang, "unknown")
    return format_duration((end - begin).total_seconds(), lang)


_OWN_REASONS = {
    NOT_IN_CHANNEL: "reason.not_in_channel",
    INSTANCE_NOT_FOUND: "reason.instance_not_found",
    AMBIGUOUS_INSTANCE: "reason.ambiguous",
    NOT_AUTHORIZED: "reason.no_role",
}


def _reason(req: BackupRequest, lang: str) -> str:
    """Why the request ended: the catalog's words for the bot's own error codes, else the cloud's
    message (already in the requester's language, through ``X-Language``)."""
    if key := _OWN_REASONS.get(req.error_code):
        return t(lang, key, ref=_code(req.instance_ref, _MAX_INSTANCE))
    return _user_text(req.error_msg, _MAX_ERROR) if req.error_msg else t(lang, "failed.no_reason")


def _lang(req: BackupRequest, lang: str | None = None) -> str:
    """The language of a message about ``req``: ``lang`` when given, else the requester's."""
    return as_lang(lang if lang is not None else req.language)


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


def _simple(text: str) -> Message:
    return Message(text=text, blocks=[_section(text)])


# --- request messages -----------------------------------------------------------------------------


def _request_fields(req: BackupRequest, lang: str) -> list[str]:
    fields = [
        t(lang, "field.requester", value=_mention(req.user_id, lang)),
        t(lang, "field.instance", value=_instance(req, lang)),
        t(lang, "field.name", value=_code(req.backup_name, _MAX_NAME)),
        t(lang, "field.state", value=_state(req.state, lang)),
    ]
    if req.reference:
        fields.append(t(lang, "field.reference", value=_user_text(req.reference, _MAX_REFERENCE)))
    if req.decided_by and req.state not in (State.RECEIVED, State.PENDING_APPROVAL, State.EXPIRED):
        key = "field.decided_by.rejected" if req.state is State.REJECTED else "field.decided_by.approved"
        fields.append(t(lang, key, value=_mention(req.decided_by, lang)))
    if req.backup_id:
        fields.append(t(lang, "field.backup_id", value=_code(req.backup_id)))
    if req.state is State.COMPLETED:
        fields.append(t(lang, "field.size", value=format_size(req.size_mb, lang)))
        fields.append(t(lang, "field.duration", value=_duration(req.begin_time, req.end_time, lang)))
    if req.state in (State.FAILED, State.CREATE_FAILED):
        fields.append(t(lang, "field.reason", value=_reason(req, lang)))
        if req.error_code:
            fields.append(t(lang, "field.error_code", value=_code(req.error_code)))
    return fields


def _request_blocks(req: BackupRequest, approvers: list[str] | None, lang: str) -> list[Block]:
    blocks: list[Block] = [
        _header(t(lang, "parent.header", emoji=STATE_EMOJI[req.state], state=_state_word(req.state, lang))),
        _section(
            t(
                lang,
                "parent.title",
                name=_code(req.backup_name, _MAX_NAME),
                instance=_instance_short(req, lang),
            )
        ),
        *_fields(_request_fields(req, lang)),
    ]
    if req.description:
        blocks.append(_section(t(lang, "description", value=_user_text(req.description, _MAX_DESCRIPTION))))
    if req.state is State.BUILDING:
        if req.progress is None:
            blocks.append(_section(t(lang, "progress.unknown")))
        else:
            bar = _progress_bar(req.progress)
            blocks.append(_section(t(lang, "progress", bar=bar, percent=req.progress)))
    if req.state is State.PENDING_APPROVAL:
        if req.expires_at:
            note = t(lang, "pending.expires", when=format_time(req.expires_at))
        else:
            note = t(lang, "pending.note")
        blocks.append(_section(note))
        if approvers:
            blocks.append(_section(t(lang, "pending.approvers", who=" ".join(approvers[:20]))))
        blocks.append(_decision_buttons(req, lang))
    context = t(lang, "context", request_id=_code(req.id), when=format_time(req.created_at))
    blocks.append(_context(context))
    return blocks


APPROVE_ACTION = "approve_request"
REJECT_ACTION = "reject_request"


def _decision_buttons(req: BackupRequest, lang: str) -> Block:
    """Approve (with a confirmation) and Reject; the value carries only the request id."""
    plain = escape(_clip(req.backup_name, _MAX_NAME))
    return {
        "type": "actions",
        "block_id": f"decide:{req.id}",
        "elements": [
            {
                "type": "button",
                "action_id": APPROVE_ACTION,
                "text": {"type": "plain_text", "text": t(lang, "button.approve")},
                "style": "primary",
                "value": req.id,
                "confirm": {
                    "title": {"type": "plain_text", "text": t(lang, "confirm.title")},
                    "text": {
                        "type": "mrkdwn",
                        "text": t(lang, "confirm.text", name=plain, instance=_instance_short(req, lang)),
                    },
                    "confirm": {"type": "plain_text", "text": t(lang, "confirm.yes")},
                    "deny": {"type": "plain_text", "text": t(lang, "confirm.no")},
                },
            },
            {
                "type": "button",
                "action_id": REJECT_ACTION,
                "text": {"type": "plain_text", "text": t(lang, "button.reject")},
                "style": "danger",
                "value": req.id,
            },
        ],
    }


def _request_fallback(req: BackupRequest, lang: str) -> str:
    return t(
        lang,
        "parent.fallback",
        emoji=STATE_EMOJI[req.state],
        name=_code(req.backup_name, _MAX_NAME),
        instance=_instance_short(req, lang),
        state=_state_word(req.state, lang),
        requester=_mention(req.user_id, lang),
    )


def parent_message(
    req: BackupRequest, approvers: list[str] | None = None, *, lang: str | None = None
) -> Message:
    """The channel message that roots the request's thread; updated in place as the state moves.

    In the requester's language — approvers too read an approval request in it — unless ``lang``
    says otherwise (``/backup status`` answers the person who asked). While the request waits for
    approval it carries Approve/Reject buttons and mentions ``approvers`` (ready mrkdwn mentions);
    any other state has no buttons, so an update after the decision removes them.
    """
    language = _lang(req, lang)
    return Message(text=_request_fallback(req, language), blocks=_request_blocks(req, approvers, language))


def decision_reply(req: BackupRequest) -> Message:
    """Thread reply recording who approved the request."""
    lang = _lang(req)
    return _simple(t(lang, "decision.approved", decider=_mention(req.decided_by, lang)))


def cannot_decide(reason: str, who_can_help: list[str], *, lang: str) -> Message:
    """Private answer to someone who may not decide (``not_an_approver`` or ``own_request``)."""
    if reason == "own_request":
        return _simple(t(lang, "decision.own_request"))
    return _simple(t(lang, "decision.not_approver", who_can_help=_who(who_can_help, lang)))


def already_decided(req: BackupRequest, *, lang: str) -> Message:
    """Private answer to the second of two deciders (or to a click on a closed request)."""
    if req.state is State.EXPIRED:
        return _simple(t(lang, "decision.expired"))
    if req.decided_by:
        key = "decision.already.rejected" if req.state is State.REJECTED else "decision.already.approved"
        return _simple(t(lang, key, decider=_mention(req.decided_by, lang)))
    return _simple(t(lang, "decision.closed", state=_state_word(req.state, lang)))


def request_gone(*, lang: str) -> Message:
    return _simple(t(lang, "decision.gone"))


def _who(who_can_help: list[str], lang: str) -> str:
    if who_can_help:
        return t(lang, "refused.who", who=", ".join(who_can_help))
    return t(lang, "refused.nobody")


def no_role(who_can_help: list[str], *, lang: str) -> Message:
    """Private refusal for a user who holds no role, naming who can help."""
    return _simple(t(lang, "refused.no_role", who_can_help=_who(who_can_help, lang)))


def audit_not_allowed(*, lang: str) -> Message:
    return _simple(t(lang, "audit.not_allowed"))


def audit_list(lines: list[str], *, lang: str) -> Message:
    """``/backup audit``: one line per entry, newest first (lines are already safe mrkdwn)."""
    if not lines:
        return _simple(t(lang, "audit.empty"))
    title = t(lang, "audit.title", count=len(lines))
    body = "\n".join(lines[:_MAX_LIST_ITEMS])
    return Message(text=title, blocks=[_section(title), _section(_clip(body, 2900))])


def created_reply(req: BackupRequest) -> Message:
    """Thread reply once the cloud accepted the create: backup ID, job ID and start time."""
    lang = _lang(req)
    started = format_time(req.begin_time) if req.begin_time else t(lang, "unknown")
    fields = [
        t(lang, "field.backup_id", value=_code(req.backup_id)),
        t(lang, "field.job_id", value=_code(req.job_id)),
        t(lang, "field.started", value=started),
    ]
    text = t(
        lang,
        "created.text",
        name=_code(req.backup_name, _MAX_NAME),
        backup_id=_code(req.backup_id),
        job_id=_code(req.job_id),
    )
    return Message(text=text, blocks=[_section(t(lang, "created.lead")), *_fields(fields)])


def final_reply(req: BackupRequest, *, timeout_s: float | None = None) -> Message:
    """Thread reply with the outcome, mentioning the requester, in the requester's language.

    ``timeout_s`` is the poll timeout, shown when the request is ``TIMED_OUT``.
    Raises ``ValueError`` for a request that is not in a final state (a programming error).
    """
    lang = _lang(req)
    common = {
        "requester": _mention(req.user_id, lang),
        "name": _code(req.backup_name, _MAX_NAME),
        "instance": _instance_short(req, lang),
    }
    fields: list[str] = []
    extra: list[Block] = []
    if req.state is State.COMPLETED:
        size = format_size(req.size_mb, lang)
        duration = _duration(req.begin_time, req.end_time, lang)
        text = t(lang, "completed.text", size=size, duration=duration, **common)
        fields = [
            t(lang, "field.size", value=size),
            t(lang, "field.duration", value=duration),
            t(lang, "field.backup_id", value=_code(req.backup_id)),
        ]
        if req.end_time:
            fields.append(t(lang, "field.finished", value=format_time(req.end_time)))
    elif req.state in (State.FAILED, State.CREATE_FAILED):
        key = "failed.text" if req.state is State.FAILED else "create_failed.text"
        text = t(lang, key, reason=_reason(req, lang), **common)
        fields = [t(lang, "field.reason", value=_reason(req, lang))]
        if req.error_code:
            fields.append(t(lang, "field.error_code", value=_code(req.error_code)))
        if req.backup_id:
            fields.append(t(lang, "field.backup_id", value=_code(req.backup_id)))
        if req.cloud_request_id:
            fields.append(t(lang, "field.cloud_request_id", value=_code(req.cloud_request_id)))
    elif req.state is State.TIMED_OUT:
        if timeout_s is not None:
            timeout = format_duration(timeout_s, lang)
        else:
            timeout = t(lang, "timed_out.default_timeout")
        text = t(lang, "timed_out.text", timeout=timeout, **common)
        extra = [_section(t(lang, "timed_out.next"))]
        if req.backup_id:
            fields.append(t(lang, "field.backup_id", value=_code(req.backup_id)))
        if req.progress is not None:
            fields.append(t(lang, "progress", bar=_progress_bar(req.progress), percent=req.progress))
    elif req.state is State.REJECTED:
        text = t(lang, "rejected.text", decider=_mention(req.decided_by, lang), **common)
        if req.decision_reason:
            fields = [t(lang, "rejected.reason", value=_user_text(req.decision_reason, _MAX_ERROR))]
    elif req.state is State.EXPIRED:
        text = t(lang, "expired.text", **common)
    else:
        raise ValueError(f"final_reply needs a request in a final state, not {req.state.value}")
    return Message(text=text, blocks=[_section(text), *extra, *_fields(fields)])


# --- replies to commands --------------------------------------------------------------------------


def error_ephemeral(problem: str, usage: str | None = None, *, lang: str) -> Message:
    """A private answer saying what is wrong and, when known, the syntax that works.

    ``problem`` and ``usage`` may be :class:`~bot.i18n.Text` (said in ``lang``) or text already in
    the reader's language (a cloud message); either is escaped.
    """
    safe_problem = _user_text(localize(problem, lang), _MAX_PROBLEM)
    text = t(lang, "error.text", problem=safe_problem)
    blocks = [_section(text)]
    if usage:
        blocks.append(_section(t(lang, "error.usage", usage=_user_text(localize(usage, lang), _MAX_USAGE))))
    return Message(text=text, blocks=blocks)


def cloud_error(error: object, *, lang: str) -> Message:
    """A private answer: the cloud refused or could not be reached (its words, shown escaped)."""
    return error_ephemeral(t(lang, "cloud.answered", error=error), None, lang=lang)


def help_message(usage: str, notes: list[str], *, lang: str) -> Message:
    """``/backup help``: the usage block (a :class:`~bot.i18n.Text` is said in ``lang``) and notes
    about this deployment.

    ``notes`` are the bot's own mrkdwn, already in ``lang`` (they may mention people on purpose);
    callers escape any user-derived part of a note with :func:`bot.slack.text.escape`.
    """
    blocks = [
        _section(t(lang, "help.title")),
        _section(t(lang, "help.usage", usage=_user_text(localize(usage, lang), 2500))),
    ]
    shown = [t(lang, "help.note", note=_clip(note, _MAX_NOTE)) for note in notes[:_MAX_NOTES]]
    if shown:
        blocks.append(_section("\n".join(shown)))
    return Message(text=t(lang, "help.fallback"), blocks=blocks)


def received(req: BackupRequest, *, lang: str) -> Message:
    """The private acknowledgement of ``/backup create``: what was recorded and where to look."""
    text = t(
        lang,
        "received.text",
        request_id=_code(req.id),
        name=_code(req.backup_name, _MAX_NAME),
        instance=_instance_short(req, lang),
    )
    lines = [text, t(lang, "received.next", channel=_channel(req.channel_id, lang))]
    if req.needs_approval:
        lines.append(t(lang, "received.approval"))
    return Message(text=text, blocks=[_section("\n".join(lines))])


def looking_up(*, lang: str) -> Message:
    """The private acknowledgement of a lookup answered later through the response URL."""
    return _simple(t(lang, "looking_up.text"))


def unavailable(*, lang: str) -> Message:
    """The private answer when the bot's store cannot be reached: nothing was recorded."""
    return _simple(t(lang, "unavailable.text"))


def instance_not_found(ref: str, suggestions: list[str], *, lang: str) -> Message:
    """No instance has that name or ID; ``suggestions`` are close names (shown escaped)."""
    text = t(lang, "instance_not_found.text", ref=_code(ref, _MAX_INSTANCE))
    lines = [text]
    if suggestions:
        names = ", ".join(_code(name, _MAX_INSTANCE) for name in suggestions[:_MAX_SUGGESTIONS])
        lines.append(t(lang, "instance_not_found.suggest", names=names))
    return Message(text=text, blocks=[_section("\n".join(lines))])


def ambiguous_instance(ref: str, choices: list[tuple[str, str]], *, lang: str) -> Message:
    """Several instances have that exact name; ``choices`` are their (ID, name), shown as IDs."""
    ids = ", ".join(_code(instance_id) for instance_id, _ in choices[:_MAX_SUGGESTIONS])
    return _simple(
        t(lang, "instance.ambiguous", count=len(choices), ref=_code(ref, _MAX_INSTANCE), choices=ids)
    )


def invite_hint(req: BackupRequest) -> Message:
    """Private note to the requester: the bot is not in the request's channel yet and keeps trying."""
    lang = _lang(req)
    channel = _channel(req.channel_id, lang)
    return _simple(t(lang, "not_in_channel.hint", channel=channel, request_id=_code(req.id)))


def gave_up_not_in_channel(req: BackupRequest) -> Message:
    """Private note to the requester: the bot was never invited, so nothing was made."""
    lang = _lang(req)
    channel = _channel(req.channel_id, lang)
    return _simple(t(lang, "not_in_channel.gave_up", channel=channel, request_id=_code(req.id)))


def busy_notice(req: BackupRequest, error_msg: str) -> Message:
    """Thread reply: the cloud said the instance is busy; the create is retried automatically."""
    lang = _lang(req)
    reason = _user_text(error_msg, _MAX_ERROR) if error_msg else t(lang, "busy.no_reason")
    return _simple(t(lang, "busy.text", reason=reason))


def status_message(item: BackupRequest | BackupRecord, *, lang: str) -> Message:
    """``/backup status``: a request the bot knows, or a backup found in the cloud, in the
    language of the person who asked."""
    if isinstance(item, BackupRequest):
        return parent_message(item, lang=lang)
    return record_status(item, lang=lang)


def record_status(record: BackupRecord, *, lang: str) -> Message:
    """A backup as the cloud lists it (``/backup status`` for a backup the bot did not track)."""
    emoji, word = STATUS_EMOJI[record.status], _status_word(record.status, lang)
    name = _code(record.name, _MAX_NAME)
    if record.instance_name:
        instance = t(
            lang,
            "instance.with_id",
            name=_user_text(record.instance_name, _MAX_INSTANCE),
            id=_code(record.instance_id),
        )
    else:
        instance = _code(record.instance_id)
    started = format_time(record.begin_time) if record.begin_time else t(lang, "unknown")
    fields = [
        t(lang, "field.backup_id", value=_code(record.id)),
        t(lang, "field.instance", value=instance),
        t(lang, "field.status", value=f"{emoji} {word}"),
        t(lang, "field.started", value=started),
    ]
    if record.end_time:
        fields.append(t(lang, "field.finished", value=format_time(record.end_time)))
    if record.status.finished:
        fields.append(t(lang, "field.size", value=format_size(record.size, lang)))
        duration = (
            format_duration(record.take_up_time * 60, lang)
            if record.take_up_time is not None
            else _duration(record.begin_time, record.end_time, lang)
        )
        fields.append(t(lang, "field.duration", value=duration))
    if record.fail_reason:
        fields.append(t(lang, "field.reason", value=_user_text(record.fail_reason, _MAX_ERROR)))
    blocks = [_section(t(lang, "record.title", emoji=emoji, name=name, status=word)), *_fields(fields)]
    if record.description:
        description = _user_text(record.description, _MAX_DESCRIPTION)
        blocks.append(_section(t(lang, "description", value=description)))
    return Message(text=t(lang, "record.fallback", name=name, status=word), blocks=blocks)


def backup_list_message(instance_name: str, records: list[BackupRecord], *, lang: str) -> Message:
    """``/backup list``: the latest backups of one instance, newest first as given."""
    instance = _user_text(instance_name, _MAX_INSTANCE) or t(lang, "unknown")
    if not records:
        return _simple(t(lang, "list.empty", instance=instance))
    title = t(lang, "list.title", instance=instance, count=len(records))
    blocks: list[Block] = [_section(title), _divider()]
    for record in records[:_MAX_LIST_ITEMS]:
        when = format_time(record.begin_time) if record.begin_time else t(lang, "unknown")
        item = t(
            lang,
            "list.item",
            emoji=STATUS_EMOJI[record.status],
            name=_code(record.name, _MAX_NAME),
            status=_status_word(record.status, lang),
            when=when,
            size=format_size(record.size, lang),
            backup_id=_code(record.id),
        )
        blocks.append(_section(item))
    if len(records) > _MAX_LIST_ITEMS:
        blocks.append(_context(t(lang, "list.more", count=len(records) - _MAX_LIST_ITEMS)))
    return Message(text=t(lang, "list.fallback", instance=instance, count=len(records)), blocks=blocks)
