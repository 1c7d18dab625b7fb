"""One audit entry as one line of Slack mrkdwn, for ``AUDIT_CHANNEL`` and ``/backup audit``. Pure."""

from __future__ import annotations

from bot.domain.audit import BOT_ACTOR, AuditEntry
from bot.domain.people import is_user_id
from bot.i18n import SOURCE, t
from bot.slack.render.states import AUDIT_ICONS
from bot.slack.render.text import GRAVE, escape, format_time, inert

_LINE_DETAIL_MAX = 200


def _code(text: str) -> str:
    """Inline code with the text made inert (a backtick inside would end the span early)."""
    return f"`{escape(text.replace('`', GRAVE))}`"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _actor(actor: str) -> str:
    if is_user_id(actor, min_length=3):
        return f"<@{actor}>"
    return escape(_one_line(actor))


def audit_line(entry: AuditEntry, *, lang: str = SOURCE) -> str:
    """One line of Slack mrkdwn in ``lang``, e.g. ``:white_check_mark: *Approved* by <@U1> · request
    `r-…` · instance `orders-prod` · backup `pre-change-42` · <date>``. Every free text is escaped."""
    label = f"*{t(lang, f'auditlog.{entry.action.value}')}*"
    if entry.actor != BOT_ACTOR:
        label = t(lang, "auditlog.by", label=label, actor=_actor(entry.actor))
    parts = [f"{AUDIT_ICONS[entry.action]} {label}"]
    if entry.request_id:
        parts.append(t(lang, "auditlog.request", value=_code(entry.request_id)))
    if entry.instance_name and entry.instance_id:
        instance = t(lang, "instance.with_id", name=_code(entry.instance_name), id=_code(entry.instance_id))
        parts.append(t(lang, "auditlog.instance", value=instance))
    elif entry.instance_name or entry.instance_id:
        parts.append(t(lang, "auditlog.instance", value=_code(entry.instance_name or entry.instance_id)))
    if entry.backup_name:
        parts.append(t(lang, "auditlog.backup", value=_code(entry.backup_name)))
    if entry.backup_id:
        parts.append(t(lang, "auditlog.backup_id", value=_code(entry.backup_id)))
    if entry.cloud_request_id:
        parts.append(t(lang, "auditlog.cloud_request", value=_code(entry.cloud_request_id)))
    if entry.detail:
        detail = _one_line(entry.detail)
        if len(detail) > _LINE_DETAIL_MAX:
            detail = detail[: _LINE_DETAIL_MAX - 1] + "…"
        parts.append(inert(detail))
    parts.append(format_time(entry.at))
    return " · ".join(parts)
