"""Messages about one request: the parent message that roots its thread, and the replies in it. Pure.

Every sentence comes from the message catalogs (:mod:`bot.i18n`) in the requester's language
(``BackupRequest.language``) unless a builder is told otherwise; only emoji and identifiers live here.
"""

from __future__ import annotations

from bot.app.people import named
from bot.app.ports import ReplyKind
from bot.domain.policy import Notify
from bot.domain.request import BackupRequest, State
from bot.i18n import t
from bot.slack.render import lifetimes
from bot.slack.render import pieces as p
from bot.slack.render import states as s
from bot.slack.render.policy import mentions
from bot.slack.render.text import format_duration, format_size, format_time


def _request_fields(req: BackupRequest, lang: str) -> list[str]:
    fields = [
        t(lang, "field.requester", value=p.mention(req.user_id, lang)),
        t(lang, "field.instance", value=p.instance(req, lang)),
        t(lang, "field.name", value=p.code(req.backup_name, p.MAX_NAME)),
        t(lang, "field.state", value=s.request_label(req, lang)),
    ]
    if req.reference:
        fields.append(t(lang, "field.reference", value=p.user_text(req.reference, p.MAX_REFERENCE)))
    if req.decided_by and req.state not in (State.RECEIVED, State.PENDING_APPROVAL, State.EXPIRED):
        fields.append(_decided_field(req, lang))
    if req.backup_id:
        fields.append(t(lang, "field.backup_id", value=p.code(req.backup_id)))
    if req.state is State.COMPLETED:
        fields.append(t(lang, "field.size", value=format_size(req.size_mb, lang)))
        fields.append(t(lang, "field.duration", value=p.duration(req.begin_time, req.end_time, lang)))
    fields += lifetimes.lifetime_fields(req, lang)
    if req.state in (State.FAILED, State.CREATE_FAILED):
        fields.append(t(lang, "field.reason", value=p.reason(req, lang)))
        if req.error_code:
            fields.append(t(lang, "field.error_code", value=p.code(req.error_code)))
    return fields


def _decided_field(req: BackupRequest, lang: str) -> str:
    """Who ended the wait, and how: rejected, cancelled, started by a broken glass, or approved (by
    every approver who counted)."""
    deciders = p.mention(req.decided_by, lang)
    if req.state is State.REJECTED:
        key = "field.decided_by.rejected"
    elif req.state is State.CANCELLED:
        key = "field.decided_by.cancelled"
    elif req.break_glass:
        key = "field.decided_by.break_glass"
    else:
        key = "field.decided_by.approved"
        deciders = ", ".join(p.mention(a, lang) for a in req.approvals) or deciders
    return t(lang, key, value=deciders)


def _request_blocks(
    req: BackupRequest, approvers: list[str] | None, lang: str, *, dm: bool, buttons: bool
) -> list[p.Block]:
    blocks: list[p.Block] = [
        p.header(t(lang, "parent.header", emoji=s.STATE_EMOJI[req.state], state=s.request_word(req, lang))),
        p.section(
            t(
                lang,
                "parent.title",
                name=p.code(req.backup_name, p.MAX_NAME),
                instance=p.instance_short(req, lang),
            )
        ),
        *p.fields(_request_fields(req, lang)),
    ]
    if req.description:
        blocks.append(
            p.section(t(lang, "description", value=p.user_text(req.description, p.MAX_DESCRIPTION)))
        )
    if req.state is State.BUILDING:
        if req.progress is None:
            blocks.append(p.section(t(lang, "progress.unknown")))
        else:
            bar = p.progress_bar(req.progress)
            blocks.append(p.section(t(lang, "progress", bar=bar, percent=req.progress)))
    if req.state is State.PENDING_APPROVAL:
        blocks.extend(_pending_blocks(req, approvers, lang, dm=dm, buttons=buttons))
    elif req.state is State.SCHEDULED and not dm and buttons:
        blocks.append(_requester_buttons(req.model_copy(update={"break_glass_allowed": False}), lang))
    context = t(lang, "context", request_id=p.code(req.id), when=format_time(req.created_at))
    blocks.append(p.context(context))
    return blocks


APPROVE_ACTION = "approve_request"
REJECT_ACTION = "reject_request"
CANCEL_ACTION = "cancel_request"
BREAK_GLASS_ACTION = "break_glass"


def _pending_blocks(
    req: BackupRequest, approvers: list[str] | None, lang: str, *, dm: bool, buttons: bool
) -> list[p.Block]:
    """While a request waits: until when, who may approve and how far they got, and the buttons —
    Approve/Reject where approvers are asked (the channel unless ``notify: dm``, and their DMs),
    Cancel and Break glass for the requester on the channel message; none without ``buttons``."""
    in_channel = Notify(req.notify).in_channel
    if req.expires_at:
        note = t(lang, "pending.expires", when=format_time(req.expires_at))
    else:
        note = t(lang, "pending.note")
    blocks = [p.section(note)]
    if req.approvals_needed > 1 or req.approvals:
        who = ", ".join(p.mention(a, lang) for a in req.approvals) or t(lang, "pending.none_yet")
        blocks.append(
            p.section(
                t(lang, "pending.progress", count=len(req.approvals), needed=req.approvals_needed, who=who)
            )
        )
    if approvers and (dm or in_channel):
        blocks.append(p.section(t(lang, "pending.approvers", who=" ".join(approvers[:20]))))
    elif not dm and not in_channel:
        blocks.append(p.section(t(lang, "pending.asked_by_dm")))
    if not buttons:
        return blocks
    if dm or in_channel:
        blocks.append(decision_buttons(req, lang))
    if not dm:
        blocks.append(_requester_buttons(req, lang))
    return blocks


def _requester_buttons(req: BackupRequest, lang: str) -> p.Block:
    """Cancel (the requester, or an approver), and Break glass when the policy lets the requester
    start it at once; anyone else who clicks is told privately, and nothing changes."""
    elements: list[p.Block] = [
        {
            "type": "button",
            "action_id": CANCEL_ACTION,
            "text": {"type": "plain_text", "text": t(lang, "button.cancel")},
            "value": req.id,
            "confirm": _confirm(
                t(lang, "confirm.cancel.title"),
                t(lang, "confirm.cancel.text"),
                yes=t(lang, "confirm.cancel.yes"),
                no=t(lang, "confirm.cancel.no"),
            ),
        }
    ]
    if req.break_glass_allowed:
        elements.append(
            {
                "type": "button",
                "action_id": BREAK_GLASS_ACTION,
                "text": {"type": "plain_text", "text": t(lang, "button.break_glass")},
                "style": "danger",
                "value": req.id,
            }
        )
    return {"type": "actions", "block_id": f"own:{req.id}", "elements": elements}


def _confirm(title: str, text: str, *, yes: str, no: str) -> dict[str, object]:
    """A confirmation dialog. Each has its own words: its buttons say what they do to this request
    ("Approve", "Cancel request", "Keep it"), never a bare "Cancel" that could mean either."""
    return {
        "title": {"type": "plain_text", "text": title},
        "text": {"type": "mrkdwn", "text": text},
        "confirm": {"type": "plain_text", "text": yes},
        "deny": {"type": "plain_text", "text": no},
    }


def decision_buttons(req: BackupRequest, lang: str) -> p.Block:
    """Approve (with a confirmation) and Reject; the value carries only the request id."""
    plain = p.code(req.backup_name, p.MAX_NAME)
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
                "confirm": _confirm(
                    t(lang, "confirm.approve.title"),
                    t(lang, "confirm.approve.text", name=plain, instance=p.instance_short(req, lang)),
                    yes=t(lang, "confirm.approve.yes"),
                    no=t(lang, "confirm.approve.no"),
                ),
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
        emoji=s.STATE_EMOJI[req.state],
        name=p.code(req.backup_name, p.MAX_NAME),
        instance=p.instance_short(req, lang),
        state=s.request_word(req, lang),
        requester=p.mention(req.user_id, lang),
    )


def parent_message(
    req: BackupRequest,
    approvers: list[str] | None = None,
    *,
    lang: str | None = None,
    dm: bool = False,
    buttons: bool = True,
) -> p.Message:
    """The channel message that roots the request's thread; updated in place as the state moves.

    In the requester's language — approvers too read an approval request in it — unless ``lang``
    says otherwise (``/backup status`` answers the person who asked). While the request waits for
    approval it carries Approve/Reject buttons and names its approvers — ``approvers`` (ready mrkdwn
    mentions) when given, else the request's own, so every update still says who may approve; any
    other state has no buttons, so an update after the decision removes them. ``dm``: the copy an
    approver gets in a direct message (Approve/Reject only). ``buttons=False``: a copy that is not
    kept in step with the request (``/backup status``), so it has none — its buttons would be
    refused, since a decision checks the message it was clicked on is one the bot recorded.
    """
    language = p.lang_of(req, lang)
    if approvers is None and req.state is State.PENDING_APPROVAL and not dm:
        approvers = mentions(named(req.approvers, req.approver_group_ids))
    blocks = _request_blocks(req, approvers, language, dm=dm, buttons=buttons)
    return p.Message(text=_request_fallback(req, language), blocks=blocks)


def decision_reply(req: BackupRequest, approvers: list[str] | None = None) -> p.Message:
    """Thread reply recording who approved the request — or who broke the glass, and why, naming
    the approvers who were skipped."""
    lang = p.lang_of(req)
    if req.break_glass:
        text = t(
            lang,
            "decision.break_glass",
            requester=p.mention(req.user_id, lang),
            reason=p.user_text(req.decision_reason, p.MAX_ERROR),
            approvers=" ".join((approvers or [])[:20]) or t(lang, "refused.nobody"),
        )
        return p.simple(text)
    deciders = ", ".join(p.mention(a, lang) for a in req.approvals) or p.mention(req.decided_by, lang)
    return p.simple(t(lang, "decision.approved", decider=deciders))


def created_reply(req: BackupRequest) -> p.Message:
    """Thread reply once the cloud accepted the create: backup ID, job ID and start time."""
    lang = p.lang_of(req)
    started = format_time(req.begin_time) if req.begin_time else t(lang, "unknown")
    fields = [
        t(lang, "field.backup_id", value=p.code(req.backup_id)),
        t(lang, "field.job_id", value=p.code(req.job_id)),
        t(lang, "field.started", value=started),
    ]
    text = t(
        lang,
        "created.text",
        name=p.code(req.backup_name, p.MAX_NAME),
        backup_id=p.code(req.backup_id),
        job_id=p.code(req.job_id),
    )
    return p.Message(text=text, blocks=[p.section(t(lang, "created.lead")), *p.fields(fields)])


def final_reply(req: BackupRequest, *, timeout_s: float | None = None) -> p.Message:
    """Thread reply with the outcome, mentioning the requester, in the requester's language.

    ``timeout_s`` is the poll timeout, shown when the request is ``TIMED_OUT``.
    Raises ``ValueError`` for a request that is not in a final state (a programming error).
    """
    lang = p.lang_of(req)
    common = {
        "requester": p.mention(req.user_id, lang),
        "name": p.code(req.backup_name, p.MAX_NAME),
        "instance": p.instance_short(req, lang),
    }
    fields: list[str] = []
    extra: list[p.Block] = []
    if req.state is State.COMPLETED:
        size = format_size(req.size_mb, lang)
        duration = p.duration(req.begin_time, req.end_time, lang)
        text = t(lang, "completed.text", size=size, duration=duration, **common)
        fields = [
            t(lang, "field.size", value=size),
            t(lang, "field.duration", value=duration),
            t(lang, "field.backup_id", value=p.code(req.backup_id)),
        ]
        if req.end_time:
            fields.append(t(lang, "field.finished", value=format_time(req.end_time)))
    elif req.state in (State.FAILED, State.CREATE_FAILED):
        key = "failed.text" if req.state is State.FAILED else "create_failed.text"
        text = t(lang, key, reason=p.reason(req, lang), **common)
        fields = [t(lang, "field.reason", value=p.reason(req, lang))]
        if req.error_code:
            fields.append(t(lang, "field.error_code", value=p.code(req.error_code)))
        if req.backup_id:
            fields.append(t(lang, "field.backup_id", value=p.code(req.backup_id)))
        if req.cloud_request_id:
            fields.append(t(lang, "field.cloud_request_id", value=p.code(req.cloud_request_id)))
    elif req.state is State.TIMED_OUT:
        if timeout_s is not None:
            timeout = format_duration(timeout_s, lang)
        else:
            timeout = t(lang, "timed_out.default_timeout")
        text = t(lang, "timed_out.text", timeout=timeout, **common)
        extra = [p.section(t(lang, "timed_out.next"))]
        if req.backup_id:
            fields.append(t(lang, "field.backup_id", value=p.code(req.backup_id)))
        if req.progress is not None:
            fields.append(t(lang, "progress", bar=p.progress_bar(req.progress), percent=req.progress))
    elif req.state is State.REJECTED:
        text = t(lang, "rejected.text", decider=p.mention(req.decided_by, lang), **common)
        if req.decision_reason:
            fields = [t(lang, "rejected.reason", value=p.user_text(req.decision_reason, p.MAX_ERROR))]
    elif req.state is State.EXPIRED:
        text = t(lang, "expired.text", **common)
    elif req.state is State.CANCELLED:
        text = t(lang, "cancelled.text", decider=p.mention(req.decided_by, lang), **common)
        if req.decision_reason:
            fields = [t(lang, "rejected.reason", value=p.user_text(req.decision_reason, p.MAX_ERROR))]
    else:
        raise ValueError(f"final_reply needs a request in a final state, not {req.state.value}")
    return p.Message(text=text, blocks=[p.section(text), *extra, *p.fields(fields)])


def busy_notice(req: BackupRequest, error_msg: str) -> p.Message:
    """Thread reply: the cloud said the instance is busy; the create is retried automatically."""
    lang = p.lang_of(req)
    reason = p.user_text(error_msg, p.MAX_ERROR) if error_msg else t(lang, "busy.no_reason")
    return p.simple(t(lang, "busy.text", reason=reason))


def reply(
    req: BackupRequest,
    kind: ReplyKind,
    *,
    detail: str = "",
    timeout_s: float | None = None,
    approvers: list[str] | None = None,
) -> p.Message:
    """The thread reply of ``kind`` about ``req`` (``detail``: the cloud's words for a busy instance;
    ``approvers``: mentions, for a broken glass)."""
    match kind:
        case ReplyKind.DECISION:
            return decision_reply(req, approvers)
        case ReplyKind.CREATED:
            return created_reply(req)
        case ReplyKind.BUSY:
            return busy_notice(req, detail)
        case ReplyKind.TIMEOUT:
            return final_reply(req, timeout_s=timeout_s)
        case ReplyKind.FINAL:
            return final_reply(req)
        case ReplyKind.STARTING:
            return lifetimes.starting_reply(req)
        case ReplyKind.DELETED:
            return lifetimes.deleted_reply(req)
        case ReplyKind.DELETE_GONE:
            return lifetimes.gone_reply(req)
        case ReplyKind.DELETE_PROBLEM:
            return lifetimes.problem_reply(req, detail)
