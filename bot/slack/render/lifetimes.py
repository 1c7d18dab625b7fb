"""How long a backup is kept and when a planned one starts, in people's words: the request message's
lines, the thread replies (starting as planned, deleted as planned, deleted by someone else, a
refused deletion), the private notice a day before with its Keep button, and the answers to
``/backup keep``. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.lifetimes import Keep
from bot.domain.request import BackupRequest, State
from bot.i18n import t
from bot.slack.render import pieces as p
from bot.slack.render.text import format_duration, format_time

KEEP_MORE_ACTION = "keep_more"
KEEP_BLOCK = "keep:"


def _when(epoch: float) -> str:
    return format_time(datetime.fromtimestamp(epoch, UTC))


def _keep_words(seconds: float | None, lang: str) -> str:
    return t(lang, "keep.forever") if seconds is None else format_duration(seconds, lang)


def lifetime_fields(req: BackupRequest, lang: str) -> list[str]:
    """The request message's lines about time: when a planned backup starts, how long it is kept,
    when it is (or was) deleted."""
    fields: list[str] = []
    if req.start_at is not None and req.state in (State.PENDING_APPROVAL, State.APPROVED, State.SCHEDULED):
        fields.append(t(lang, "field.starts", value=_when(req.start_at)))
    if req.deletion == "planned" and req.delete_at is not None:
        fields.append(t(lang, "field.deleted_on", value=_when(req.delete_at)))
    elif req.deletion == "deleted" and req.deleted_at is not None:
        fields.append(t(lang, "field.deleted", value=format_time(req.deleted_at)))
    elif req.deletion == "gone":
        fields.append(t(lang, "field.deleted", value=t(lang, "lifetime.gone")))
    elif req.deletion == "failed":
        fields.append(t(lang, "field.deleted", value=t(lang, "lifetime.failed")))
    elif req.keep_settled and not req.state.final:
        fields.append(t(lang, "field.kept", value=_keep_words(req.keep_for, lang)))
    return fields


def _about(req: BackupRequest, lang: str) -> dict[str, str]:
    return {"name": p.code(req.backup_name, p.MAX_NAME), "instance": p.instance_short(req, lang)}


def starting_reply(req: BackupRequest) -> p.Message:
    lang = p.lang_of(req)
    when = _when(req.start_at) if req.start_at is not None else t(lang, "unknown")
    return p.simple(t(lang, "starting.text", when=when, **_about(req, lang)))


def deleted_reply(req: BackupRequest) -> p.Message:
    lang = p.lang_of(req)
    lived = (req.deleted_at - req.end_time).total_seconds() if req.deleted_at and req.end_time else None
    after = format_duration(lived, lang) if lived is not None else _keep_words(req.keep_for, lang)
    return p.simple(t(lang, "deleted.text", after=after, **_about(req, lang)))


def gone_reply(req: BackupRequest) -> p.Message:
    lang = p.lang_of(req)
    return p.simple(t(lang, "delete_gone.text", **_about(req, lang)))


def problem_reply(req: BackupRequest, detail: str) -> p.Message:
    lang = p.lang_of(req)
    reason = p.user_text(detail, p.MAX_ERROR) if detail else t(lang, "failed.no_reason")
    key = "delete_failed.text" if req.deletion == "failed" else "delete_problem.text"
    return p.simple(t(lang, key, reason=reason, **_about(req, lang)))


def deletion_soon(req: BackupRequest, lang: str) -> p.Message:
    """To the requester, a day before: the backup goes then, unless they keep it."""
    when = _when(req.delete_at) if req.delete_at is not None else t(lang, "unknown")
    text = t(lang, "deletion_soon.text", when=when, request_id=p.code(req.id), **_about(req, lang))
    button = {
        "type": "button",
        "action_id": KEEP_MORE_ACTION,
        "text": {"type": "plain_text", "text": t(lang, "button.keep_more")},
        "value": req.id,
    }
    actions = {"type": "actions", "block_id": f"{KEEP_BLOCK}{req.id}", "elements": [button]}
    return p.Message(text=text, blocks=[p.section(text), actions])


def start_refused(reason: str, asked: str, lang: str) -> p.Message:
    return p.simple(t(lang, f"start_refused.{reason}", asked=p.code(asked, 40)))


def keep_refused(reason: str, longest: float | None, lang: str) -> p.Message:
    return p.simple(t(lang, f"keep_refused.{reason}", longest=_keep_words(longest, lang)))


def kept(req: BackupRequest, lang: str) -> p.Message:
    about = _about(req, lang)
    if req.state is State.COMPLETED and req.delete_at is not None:
        return p.simple(t(lang, "kept.until", when=_when(req.delete_at), **about))
    if req.keep_for is None:
        return p.simple(t(lang, "kept.forever", **about))
    return p.simple(t(lang, "kept.after", keep=format_duration(req.keep_for, lang), **about))


def not_kept(reason: str, lang: str, longest: float | None = None) -> p.Message:
    if reason in ("too_long", "forever_needs_approver"):
        return keep_refused(reason, longest, lang)
    return p.simple(t(lang, f"not_kept.{reason}"))


def keep_choices(lang: str, *, longest: float | None, default: float | None) -> list[tuple[str, str]]:
    """The form's "Keep for" choices (value, label): the policy's default first, then the usual
    lengths within ``max``, and "forever" (refused later for someone who may not ask for it)."""
    usual = [86400.0, 7 * 86400.0, 14 * 86400.0, 30 * 86400.0, 90 * 86400.0]
    choices = [("", t(lang, "keep.default", keep=_keep_words(default, lang)))]
    choices += [(Keep(s).text(), format_duration(s, lang)) for s in usual if longest is None or s <= longest]
    choices.append(("forever", t(lang, "keep.forever")))
    return choices
