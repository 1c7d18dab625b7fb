"""The policy in people's words: ``/backup help``'s lines and Slack mentions of who can help. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from bot.app.people import People
from bot.domain.policy import EVERYONE, ROLE_NAMES, Notify, Policy
from bot.i18n import t
from bot.slack.render.text import GRAVE, escape, format_duration


def mentions(people: People) -> list[str]:
    """Slack mrkdwn for each person: user IDs as ``<@U…>``, groups as ``<!subteam^ID>`` once their ID
    is known (a mention that notifies the whole group), else as plain ``@handle``. "Everyone" is never
    among them: it is never turned into a broadcast."""
    return [
        f"<@{m}>" if isinstance(m, str) else f"<!subteam^{m.id}>" if m.id else f"@{m.handle}"
        for m in people.members
    ]


def _member(member: str) -> str:
    return member if member.startswith("@") else f"<@{member}>"


def _who(members: Iterable[str], lang: str) -> str:
    members = list(members)
    if EVERYONE in members:
        return t(lang, "policy.everyone")
    return ", ".join(_member(m) for m in members)


def describe(policy: Policy, lang: str) -> list[str]:
    """Short human lines for ``/backup help``, in ``lang`` (Slack mrkdwn, free text escaped)."""
    if policy.is_default:
        return [t(lang, "policy.open_default")]
    lines: list[str] = []
    viewers, requesters, operators, approvers = (policy.members(r) for r in ROLE_NAMES.values())
    if viewers:
        lines.append(t(lang, "policy.viewers", who=_who(viewers, lang)))
    if requesters:
        lines.append(t(lang, "policy.requesters", who=_who(requesters, lang)))
    if operators:
        key = "policy.operators_except" if policy.required_for else "policy.operators"
        lines.append(t(lang, key, who=_who(operators, lang)))
    if approvers:
        lines.append(t(lang, "policy.approvers", who=_who(approvers, lang)))
    expiry = format_duration(policy.expires_after, lang)
    if policy.required_for:
        globs = ", ".join(f"`{escape(g.replace('`', GRAVE))}`" for g in policy.required_for)
        lines.append(t(lang, "policy.required_for", globs=globs, expiry=expiry))
    elif requesters:
        lines.append(t(lang, "policy.no_gate", expiry=expiry))
    else:
        lines.append(t(lang, "policy.nothing_needs_approval"))
    if policy.required_for or requesters:
        key = "policy.self_approval" if policy.allow_self_approval else "policy.no_self_approval"
        lines.append(t(lang, key))
    for rule in policy.rules:
        globs = ", ".join(f"`{escape(g.replace('`', GRAVE))}`" for g in rule.match)
        lines.append(
            t(lang, "policy.rule", globs=globs, count=rule.min_approvals, who=_who(rule.approvers, lang))
        )
    if policy.break_glass:
        lines.append(t(lang, "policy.break_glass", who=_who(policy.break_glass, lang)))
    if policy.notify is not Notify.CHANNEL:
        lines.append(t(lang, f"policy.notify.{policy.notify.value}"))
    retention = policy.retention
    if retention.default is not None:
        lines.append(t(lang, "policy.retention", keep=format_duration(retention.default, lang)))
    if retention.longest is not None:
        lines.append(t(lang, "policy.retention_max", longest=format_duration(retention.longest, lang)))
    lines.append(t(lang, "policy.reads"))
    lines.append(t(lang, "policy.guests_allowed" if policy.guests_allowed else "policy.guests_refused"))
    if not any(policy.roles.values()):
        lines.append(t(lang, "policy.nobody"))
    elif not any(EVERYONE in members for members in policy.roles.values()):
        lines.append(t(lang, "policy.others_refused"))
    return lines
