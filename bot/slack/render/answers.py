"""Private answers: to commands, clicks and forms, and the notices a worker sends one person. Pure.

Each is in the language of the person who reads it (``lang``); a notice about a request that goes to
its requester is in the requester's language.
"""

from __future__ import annotations

from bot.app import decisions, notices
from bot.app.people import People
from bot.cloud.models import BackupRecord
from bot.domain import grammar
from bot.domain.gates import Refusal as PolicyRefusal
from bot.domain.request import GAVE_UP, BackupRequest, State
from bot.i18n import Text, t
from bot.slack.render import lifetimes
from bot.slack.render import pieces as p
from bot.slack.render import states as s
from bot.slack.render.policy import mentions
from bot.slack.render.request import final_reply, parent_message
from bot.slack.render.text import escape, format_duration, format_size, format_time


def cannot_decide(reason: PolicyRefusal, helpers: People, *, lang: str) -> p.Message:
    """Private answer to someone who may not decide (not an approver, or their own request)."""
    if reason is PolicyRefusal.OWN_REQUEST:
        return p.simple(t(lang, "decision.own_request"))
    return p.simple(t(lang, "decision.not_approver", who_can_help=p.who(mentions(helpers), lang)))


def already_decided(req: BackupRequest, *, lang: str) -> p.Message:
    """Private answer to the second of two deciders, or to any click (or ``/backup cancel``) on a
    request that no longer waits: what ended it, and who."""
    return p.simple(ended_by(req, lang))


def ended_by(req: BackupRequest, lang: str) -> str:
    """The one true sentence for each way a wait ends (a unit test walks every state)."""
    decider = p.mention(req.decided_by, lang) if req.decided_by else ""
    if req.state is State.EXPIRED:
        return t(lang, "decision.expired")
    if req.state is State.CREATE_FAILED and req.error_code == GAVE_UP:
        return t(lang, "decision.already.gave_up", request_id=p.code(req.id))
    if req.state in (State.CANCELLED, State.REJECTED) and decider:
        key = "decision.already.cancelled" if req.state is State.CANCELLED else "decision.already.rejected"
        return t(lang, key, decider=decider)
    if req.state in _STARTED and req.break_glass and decider:
        return t(lang, "decision.already.break_glass", decider=decider)
    if req.state in _STARTED and (req.approvals or decider):
        deciders = ", ".join(p.mention(a, lang) for a in req.approvals) or decider
        return t(lang, "decision.already.approved", decider=deciders)
    return t(lang, "decision.closed", state=s.state_word(req.state, lang))


# Where a request goes once approved (or started by a broken glass); a failed create included.
_STARTED = frozenset(
    {
        State.APPROVED,
        State.CREATING,
        State.BUILDING,
        State.COMPLETED,
        State.FAILED,
        State.TIMED_OUT,
        State.CREATE_FAILED,
        State.SCHEDULED,
    }
)


def request_gone(*, lang: str) -> p.Message:
    return p.simple(t(lang, "decision.gone"))


def no_role(helpers: People, *, lang: str) -> p.Message:
    """Private refusal for a user who holds no role, naming who can help."""
    return p.simple(t(lang, "refused.no_role", who_can_help=p.who(mentions(helpers), lang)))


def audit_not_allowed(*, lang: str) -> p.Message:
    return p.simple(t(lang, "audit.not_allowed"))


def audit_list(lines: list[str], *, lang: str) -> p.Message:
    """``/backup audit``: one line per entry, newest first (lines are already safe mrkdwn)."""
    if not lines:
        return p.simple(t(lang, "audit.empty"))
    title = t(lang, "audit.title", count=len(lines))
    body = "\n".join(lines[: p.MAX_LIST_ITEMS])
    return p.Message(text=title, blocks=[p.section(title), p.section(p.clip(body, 2900))])


def error_ephemeral(problem: str, usage: str | None = None, *, lang: str) -> p.Message:
    """A private answer saying what is wrong and, when known, the syntax that works.

    ``problem`` and ``usage`` may be :class:`~bot.i18n.Text` (said in ``lang``: the bot's own words,
    whose pieces of user input already sit in code spans, so only escaped) or text already in the
    reader's language (a cloud message: made inert, as any text the bot did not write).
    """
    text = t(lang, "error.text", problem=_said(problem, lang, p.MAX_PROBLEM))
    blocks = [p.section(text)]
    if usage:
        blocks.append(p.section(t(lang, "error.usage", usage=_said(usage, lang, p.MAX_USAGE))))
    return p.Message(text=text, blocks=blocks)


def _said(words: str, lang: str, limit: int) -> str:
    if isinstance(words, Text):
        return escape(p.clip(words.render(lang), limit))
    return p.user_text(words, limit)


def cloud_error(error: object, *, lang: str) -> p.Message:
    """A private answer: the cloud refused or could not be reached (its words, shown escaped)."""
    return error_ephemeral(t(lang, "cloud.answered", error=error), None, lang=lang)


def help_message(usage: str, notes: list[str], *, lang: str) -> p.Message:
    """``/backup help``: the usage block (a :class:`~bot.i18n.Text` is said in ``lang``) and notes
    about this deployment.

    ``notes`` are the bot's own mrkdwn, already in ``lang`` (they may mention people on purpose);
    callers escape any user-derived part of a note with :func:`bot.slack.text.escape`.
    """
    blocks = [
        p.section(t(lang, "help.title")),
        p.section(t(lang, "help.usage", usage=_said(usage, lang, 2500))),
    ]
    shown = [t(lang, "help.note", note=p.clip(note, p.MAX_NOTE)) for note in notes[: p.MAX_NOTES]]
    if shown:
        blocks.append(p.section("\n".join(shown)))
    return p.Message(text=t(lang, "help.fallback"), blocks=blocks)


def received(req: BackupRequest, *, lang: str, label: str = "") -> p.Message:
    """The private acknowledgement of ``/backup create``: what was recorded and where to look
    (``label``: the instance as the form showed it, where the request only knows its ID yet)."""
    text = t(
        lang,
        "received.text",
        request_id=p.code(req.id),
        name=p.code(req.backup_name, p.MAX_NAME),
        instance=p.user_text(label, p.MAX_INSTANCE) if label else p.instance_short(req, lang),
    )
    lines = [text, t(lang, "received.next", channel=p.channel(req.channel_id, lang))]
    if req.needs_approval:
        lines.append(t(lang, "received.approval"))
    return p.Message(text=text, blocks=[p.section("\n".join(lines))])


def looking_up(*, lang: str) -> p.Message:
    """The private acknowledgement of a lookup answered later through the response URL."""
    return p.simple(t(lang, "looking_up.text"))


def unavailable(*, lang: str) -> p.Message:
    """The private answer when the bot's store cannot be reached: nothing was recorded."""
    return p.simple(t(lang, "unavailable.text"))


def instance_not_found(ref: str, suggestions: list[str], *, lang: str) -> p.Message:
    """No instance has that name or ID; ``suggestions`` are close names (shown escaped)."""
    text = t(lang, "instance_not_found.text", ref=p.code(ref, p.MAX_INSTANCE))
    lines = [text]
    if suggestions:
        names = ", ".join(p.code(name, p.MAX_INSTANCE) for name in suggestions[: p.MAX_SUGGESTIONS])
        lines.append(t(lang, "instance_not_found.suggest", names=names))
    return p.Message(text=text, blocks=[p.section("\n".join(lines))])


def ambiguous_instance(ref: str, choices: list[tuple[str, str]], *, lang: str) -> p.Message:
    """Several instances have that exact name; ``choices`` are their (ID, name). Names in several
    regions come qualified (``<region>/<name>``): those are what to type instead; otherwise the IDs."""
    shown = choices[: p.MAX_SUGGESTIONS]
    qualified = all("/" in name for _, name in shown)
    listed = ", ".join(p.code(name if qualified else instance_id) for instance_id, name in shown)
    key = "instance.ambiguous_regions" if qualified else "instance.ambiguous"
    return p.simple(t(lang, key, count=len(choices), ref=p.code(ref, p.MAX_INSTANCE), choices=listed))


def invite_hint(req: BackupRequest) -> p.Message:
    """Private note to the requester: the bot is not in the request's channel yet and keeps trying."""
    lang = p.lang_of(req)
    channel = p.channel(req.channel_id, lang)
    return p.simple(t(lang, "not_in_channel.hint", channel=channel, request_id=p.code(req.id)))


def gave_up_not_in_channel(req: BackupRequest) -> p.Message:
    """Private note to the requester: the bot was never invited, so nothing was made."""
    lang = p.lang_of(req)
    channel = p.channel(req.channel_id, lang)
    return p.simple(t(lang, "not_in_channel.gave_up", channel=channel, request_id=p.code(req.id)))


def status_message(item: BackupRequest | BackupRecord, *, lang: str) -> p.Message:
    """``/backup status``: a request the bot knows, or a backup found in the cloud, in the
    language of the person who asked. A copy nobody updates: shown without its buttons, which would
    only be refused from here (a button acts from a message that shows its request)."""
    if isinstance(item, BackupRequest):
        return parent_message(item, lang=lang, buttons=False)
    return record_status(item, lang=lang)


def record_status(record: BackupRecord, *, lang: str, region: str = "") -> p.Message:
    """A backup as the cloud lists it (``/backup status`` for a backup the bot did not track);
    ``region`` when the bot serves several."""
    emoji, word = s.STATUS_EMOJI[record.status], s.status_word(record.status, lang)
    name = p.code(record.name, p.MAX_NAME)
    if record.instance_name:
        label = f"{region}/{record.instance_name}" if region else record.instance_name
        instance = t(
            lang,
            "instance.with_id",
            name=p.user_text(label, p.MAX_INSTANCE),
            id=p.code(record.instance_id),
        )
    else:
        instance = p.code(record.instance_id)
    started = format_time(record.begin_time) if record.begin_time else t(lang, "unknown")
    fields = [
        t(lang, "field.backup_id", value=p.code(record.id)),
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
            else p.duration(record.begin_time, record.end_time, lang)
        )
        fields.append(t(lang, "field.duration", value=duration))
    if record.fail_reason:
        fields.append(t(lang, "field.reason", value=p.user_text(record.fail_reason, p.MAX_ERROR)))
    blocks = [p.section(t(lang, "record.title", emoji=emoji, name=name, status=word)), *p.fields(fields)]
    if record.description:
        description = p.user_text(record.description, p.MAX_DESCRIPTION)
        blocks.append(p.section(t(lang, "description", value=description)))
    return p.Message(text=t(lang, "record.fallback", name=name, status=word), blocks=blocks)


def backup_list_message(instance_name: str, records: list[BackupRecord], *, lang: str) -> p.Message:
    """``/backup list``: the latest backups of one instance, newest first as given."""
    instance = p.user_text(instance_name, p.MAX_INSTANCE) or t(lang, "unknown")
    if not records:
        return p.simple(t(lang, "list.empty", instance=instance))
    title = t(lang, "list.title", instance=instance, count=len(records))
    blocks: list[p.Block] = [p.section(title), p.divider()]
    for record in records[: p.MAX_LIST_ITEMS]:
        when = format_time(record.begin_time) if record.begin_time else t(lang, "unknown")
        item = t(
            lang,
            "list.item",
            emoji=s.STATUS_EMOJI[record.status],
            name=p.code(record.name, p.MAX_NAME),
            status=s.status_word(record.status, lang),
            when=when,
            size=format_size(record.size, lang),
            backup_id=p.code(record.id),
        )
        blocks.append(p.section(item))
    if len(records) > p.MAX_LIST_ITEMS:
        blocks.append(p.context(t(lang, "list.more", count=len(records) - p.MAX_LIST_ITEMS)))
    return p.Message(text=t(lang, "list.fallback", instance=instance, count=len(records)), blocks=blocks)


def notice(item: notices.Notice, *, lang: str, request: BackupRequest | None = None) -> p.Message:
    """A private notice, in ``lang``; ``request`` is the request it is about, when there is one."""
    match item:
        case notices.InstanceNotFound(ref=ref, suggestions=suggestions):
            return instance_not_found(ref, list(suggestions), lang=lang)
        case notices.AmbiguousInstance(ref=ref, choices=choices):
            return ambiguous_instance(ref, list(choices), lang=lang)
        case notices.CloudFailed(error=error):
            return cloud_error(error, lang=lang)
        case notices.NoRole(helpers=helpers):
            return no_role(helpers, lang=lang)
        case notices.NotAMember(channel_id=channel):
            return p.simple(t(lang, "refused.not_a_member", channel=p.channel(channel, lang)))
        case notices.InviteHint() if request is not None:
            return invite_hint(request)
        case notices.GaveUpNotInChannel() if request is not None:
            return gave_up_not_in_channel(request)
        case notices.RequestEnded() if request is not None:
            return final_reply(request)
        case notices.GaveUp(reason=why, nothing_made=nothing_made) if request is not None:
            key = "gave_up.nothing_made" if nothing_made else "gave_up.check"
            reason = p.user_text(why, p.MAX_ERROR)
            return p.simple(t(lang, key, request_id=p.code(request.id), reason=reason))
        case notices.BackupFound(record=record, region=region):
            return record_status(record, lang=lang, region=region)
        case notices.RequestStatus(request=known):
            return status_message(known, lang=lang)
        case notices.NoSuchRequest(ref=ref):
            return error_ephemeral(t(lang, "lookup.no_request", ref=ref), grammar.USAGES["status"], lang=lang)
        case notices.NoSuchBackup(ref=ref):
            return error_ephemeral(t(lang, "lookup.no_backup", ref=ref), lang=lang)
        case notices.BackupListing(instance_name=name, records=records):
            return backup_list_message(name, list(records), lang=lang)
        case notices.DeletionSoon() if request is not None:
            return lifetimes.deletion_soon(request, lang)
        case notices.StartRefused(reason=reason, asked=asked):
            return lifetimes.start_refused(reason, asked, lang)
        case notices.KeepRefused(reason=reason, longest=longest):
            return lifetimes.keep_refused(reason, longest, lang)
    raise ValueError(f"{type(item).__name__} needs the request it is about")


def decision_refusal(refusal: decisions.Refused, *, lang: str) -> p.Message:
    """Why a click on Approve/Reject changed nothing, for the clicker, in their language."""
    match refusal:
        case decisions.Gone():
            return request_gone(lang=lang)
        case decisions.Closed(request=request):
            return already_decided(request, lang=lang)
        case decisions.NotAllowed(reason=reason, helpers=helpers):
            return cannot_decide(reason, helpers, lang=lang)
        case decisions.Elsewhere():
            return p.simple(t(lang, "decision.elsewhere"))
        case decisions.AlreadyYours(request=request):
            return p.simple(
                t(
                    lang,
                    "decision.already_yours",
                    count=len(request.approvals),
                    needed=request.approvals_needed,
                )
            )
        case decisions.Unavailable():
            return unavailable(lang=lang)
        case decisions.Started(request=request):
            return p.simple(t(lang, "cancel.started", state=s.state_word(request.state, lang)))
        case decisions.NotYours():
            return p.simple(t(lang, "decision.not_yours"))
        case decisions.Unsettled():
            return p.simple(t(lang, "decision.unsettled"))
        case decisions.NoRole(helpers=helpers):
            return no_role(helpers, lang=lang)


def cancelled(request_id: str, *, lang: str) -> p.Message:
    """The private acknowledgement of ``/backup cancel``."""
    return p.simple(t(lang, "cancel.done", request_id=p.code(request_id)))
