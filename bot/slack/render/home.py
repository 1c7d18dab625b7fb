"""A person's App Home (``views.publish``), drawn from :class:`~bot.app.home.Home`. Pure.

Top to bottom: who they are to the bot and what waits for approval when they ask, the Take a backup
button, the requests waiting for their decision (with the same Approve/Reject buttons as the channel
message, so a click takes the same path), their latest requests with a link to each thread, and the
backups being made now. Slack allows 100 blocks in a Home; this draws at most about 60.
"""

from __future__ import annotations

from typing import Any

from bot.app.home import Home
from bot.domain.policy import Role
from bot.domain.request import BackupRequest, State
from bot.i18n import t
from bot.slack.render import pieces as p
from bot.slack.render import states as s
from bot.slack.render.request import decision_buttons
from bot.slack.render.text import GRAVE, escape, format_time

HOME_CALLBACK = "backup_home"
TAKE_BACKUP_ACTION = "home_take_backup"
MAX_BLOCKS = 100
MAX_LINK = 500
_LINK_FORBIDDEN = frozenset("<>| \n\t")

_ROLE_KEYS = {
    Role.NONE: "home.role.none",
    Role.VIEWER: "home.role.viewer",
    Role.REQUESTER: "home.role.requester",
    Role.OPERATOR: "home.role.operator",
    Role.APPROVER: "home.role.approver",
}


def home_view(home: Home) -> dict[str, Any]:
    """The ``view`` argument of ``views.publish`` for ``home.user_id``."""
    lang = home.lang
    blocks: list[p.Block] = [p.header(t(lang, "home.header")), p.section(who_you_are(home))]
    if home.role is not None and home.role >= Role.REQUESTER:
        blocks.append(_take_backup(lang))
    if home.decides:
        blocks += [p.divider(), p.header(t(lang, "home.waiting.header"))]
        blocks += [b for r in home.waiting for b in _waiting(r, lang)] or [
            p.context(t(lang, "home.waiting.empty"))
        ]
    blocks += [p.divider(), p.header(t(lang, "home.mine.header"))]
    may_ask = home.role is not None and home.role >= Role.REQUESTER
    empty = t(lang, "home.mine.empty" if may_ask else "home.mine.none")
    blocks += [_mine(r, lang) for r in home.mine] or [p.context(empty)]
    if home.role is not None and home.role >= Role.VIEWER:
        blocks += [p.divider(), p.header(t(lang, "home.flight.header"))]
        blocks += [_flying(r, lang) for r in home.in_flight] or [p.context(t(lang, "home.flight.empty"))]
        if home.more_in_flight:
            blocks.append(p.context(t(lang, "home.flight.more", count=home.more_in_flight)))
    return {"type": "home", "callback_id": HOME_CALLBACK, "blocks": blocks[:MAX_BLOCKS]}


def who_you_are(home: Home) -> str:
    """One line: their role, and what waits for approval when they ask."""
    lang = home.lang
    if home.role is None:
        return t(lang, "home.role.unknown")
    line = t(lang, _ROLE_KEYS[home.role])
    if home.role < Role.REQUESTER:
        return line
    if home.gated is None:
        gate = t(lang, "home.gate.all")
    elif not home.gated:
        gate = t(lang, "home.gate.none")
    else:
        globs = ", ".join(f"`{escape(g.replace('`', GRAVE))}`" for g in home.gated[:10])
        gate = t(lang, "home.gate.some", globs=globs)
    return f"{line} {gate}"


def _take_backup(lang: str) -> p.Block:
    button = {
        "type": "button",
        "action_id": TAKE_BACKUP_ACTION,
        "text": {"type": "plain_text", "text": t(lang, "home.take")},
        "style": "primary",
        "value": "form",
    }
    return {"type": "actions", "block_id": "home:take", "elements": [button]}


def _waiting(req: BackupRequest, lang: str) -> list[p.Block]:
    text = t(
        lang,
        "home.waiting.item",
        requester=p.mention(req.user_id, lang),
        name=p.code(req.backup_name, p.MAX_NAME),
        instance=p.instance_short(req, lang),
        count=len(req.approvals),
        needed=req.approvals_needed,
        when=format_time(req.expires_at) if req.expires_at else p.NONE,
    )
    if req.reference:
        text += "\n" + t(lang, "field.reference", value=p.user_text(req.reference, p.MAX_REFERENCE))
    return [p.section(_linked(text, req, lang)), decision_buttons(req, lang)]


def _mine(req: BackupRequest, lang: str) -> p.Block:
    return _line(
        "home.item", req, lang, state=s.state_word(req.state, lang), when=format_time(req.created_at)
    )


def _flying(req: BackupRequest, lang: str) -> p.Block:
    return _line("home.flight.item", req, lang, requester=p.mention(req.user_id, lang))


def _line(key: str, req: BackupRequest, lang: str, **more: str) -> p.Block:
    """One request on one line: its state's emoji, name and instance (and ``more``), its progress
    while it runs, and the link to its thread."""
    emoji, name = s.STATE_EMOJI[req.state], p.code(req.backup_name, p.MAX_NAME)
    text = t(lang, key, emoji=emoji, name=name, instance=p.instance_short(req, lang), **more)
    return p.section(_linked(text + _progress(req, lang), req, lang))


def _progress(req: BackupRequest, lang: str) -> str:
    if req.state is not State.BUILDING or req.progress is None:
        return ""
    return "  " + t(lang, "home.progress", bar=p.progress_bar(req.progress), percent=req.progress)


def _linked(text: str, req: BackupRequest, lang: str) -> str:
    """``text`` and a link to the request's thread, when Slack gave one that is safe to show."""
    link = req.permalink
    if not link or not safe_link(link):
        return text
    return f"{text}\n<{link}|{t(lang, 'home.open_thread')}>"


def safe_link(link: str) -> bool:
    """Only an https link with nothing in it that could end Slack's ``<url|label>`` early."""
    return link.startswith("https://") and len(link) <= MAX_LINK and not _LINK_FORBIDDEN & set(link)
