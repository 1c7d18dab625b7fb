"""``/backup``: parse, validate, authorize, record, schedule, then ``ack()`` — no cloud or Slack call
before the ack, and no more Redis time than the budget allows. Every refusal is private (the ack's
own ephemeral text). ``/backup`` alone opens the form right after the ack (a trigger_id lives three
seconds).

Answers are in the user's language when the locale cache knows it, else in the default language
(and a worker fills the cache for next time): the web process never asks Slack before the ack. An
answer that turns on what only Slack can say — may this person, whose user record is not cached yet,
cancel or read the audit trail? (a guest may not) — is :class:`Later`: the command is acknowledged
with nothing, Slack is asked, and the answer follows privately through the response URL, within
the same budget, the way a click is answered."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import lookups, retention
from bot.app.choices import warm_instances
from bot.app.decisions import Decision, Unsettled, cancel
from bot.app.intake import Accepted, Ask, refusal_for, take
from bot.app.services import Services
from bot.domain import grammar
from bot.domain.lifetimes import Keep
from bot.domain.policy import Role
from bot.domain.request import utcnow
from bot.i18n import Lang, t
from bot.slack.listeners import Front
from bot.slack.listeners.budget import UNAVAILABLE, WEB_BUDGET, record_deadline
from bot.slack.payloads import Command
from bot.slack.render import answers, lifetimes, views
from bot.slack.render.audit import audit_line
from bot.slack.render.pieces import Message
from bot.slack.render.policy import describe
from bot.slack.seal import key_of, seal

log = logging.getLogger("bot.slack.commands")


@dataclass(frozen=True)
class Reader:
    """Who gets the answer: the language to answer in, and whether the cache knew it (a request
    records only a known language; the worker finds out the rest)."""

    lang: Lang
    known: Lang | None


@dataclass(frozen=True)
class Later:
    """Nothing to say in the ack: ``answer`` asks Slack what the caches could not tell, and what it
    returns goes through the command's response URL."""

    answer: Callable[[], Awaitable[Message]]


def once_key(command: Command) -> str:
    """What makes one command one request: Slack repeats a command's trigger_id on retries, and a
    command is one person's, so the key names the workspace and the person too."""
    if command.trigger_id:
        return f"cmd:{command.team_id}:{command.user_id}:{command.trigger_id}"
    seen = f"{command.channel_id}\n{command.response_url}\n{command.text}".encode()
    return f"cmd:{command.team_id}:{command.user_id}:h{hashlib.sha256(seen).hexdigest()[:32]}"


def register(app: AsyncApp, front: Front) -> None:
    services = front.services
    seal_key = key_of(services.settings)

    async def backup_command(ack: AsyncAck, context: dict[str, Any], client: AsyncWebClient) -> None:
        command: Command = context["payload"]
        parsed = grammar.parse(command.text)
        reader = Reader(lang=services.people.default, known=None)
        message: Message | Later | None
        try:
            async with asyncio.timeout(WEB_BUDGET):
                known = await services.people.known(command.user_id)
                reader = Reader(lang=known or services.people.default, known=known)
                if isinstance(parsed, grammar.OpenModal):
                    refused = await refusal_for(services, command.user_id)
                    if refused is None:
                        await warm_instances(services)
                    message = answers.no_role(refused.helpers, lang=reader.lang) if refused else None
                else:
                    message = await answer(services, parsed, command, reader)
        except UNAVAILABLE as exc:
            log.warning("Redis did not answer in time for /backup (%s): nothing recorded", type(exc).__name__)
            message = answers.unavailable(lang=reader.lang)
        if isinstance(message, Later):
            await ack()
            said = await answer_later(message, reader.lang)
            await front.responder.send(command.response_url, said)  # only ever to Slack's own host
            return
        if message is not None:
            await ack(text=message.text, blocks=message.blocks)
            return
        await ack()
        view = views.backup_form(
            default_name=grammar.default_backup_name(utcnow()),
            channel_id=command.channel_id,
            response_url=command.response_url,
            seal=seal(seal_key, command.channel_id, command.user_id),
            lang=reader.lang,
            retention=services.policy.retention,
        )
        await client.views_open(trigger_id=command.trigger_id, view=view)

    front.listen(app.command("/backup"), backup_command)


async def answer_later(later: Later, lang: Lang) -> Message:
    """What a :class:`Later` says, or "nothing was recorded" when Redis (or Slack) took too long."""
    try:
        async with asyncio.timeout(WEB_BUDGET):
            return await later.answer()
    except UNAVAILABLE as exc:
        log.warning("no answer in time for /backup after its ack (%s): nothing recorded", type(exc).__name__)
        return answers.unavailable(lang=lang)


async def answer(
    services: Services, parsed: grammar.Command, command: Command, reader: Reader
) -> Message | Later:
    """The ack for one parsed command, after recording whatever work it starts."""
    lang = reader.lang
    match parsed:
        case grammar.Invalid(problem=problem, usage=usage):
            return answers.error_ephemeral(problem, usage, lang=lang)
        case grammar.Help():
            return answers.help_message(grammar.USAGE, help_notes(services, lang), lang=lang)
        case grammar.Create():
            ask = Ask(
                team_id=command.team_id,
                channel_id=command.channel_id,
                user_id=command.user_id,
                instance_ref=parsed.instance,
                backup_name=parsed.name,
                description=parsed.description,
                response_url=command.response_url,
                keep=parsed.keep.text() if parsed.keep is not None else "",
                at=parsed.at,
            )
            taken = await take(
                services,
                ask,
                dedupe_key=once_key(command),
                known=reader.known,
                deadline=record_deadline(services),
            )
            if isinstance(taken, Accepted):
                return answers.received(taken.request, lang=lang)
            return answers.no_role(taken.helpers, lang=lang)
        case grammar.Status() | grammar.List():
            asker = lookups.Asker(
                user_id=command.user_id,
                channel_id=command.channel_id,
                response_url=command.response_url,
                lookup_id=once_key(command).removeprefix("cmd:"),
                known=reader.known,
            )
            match await lookups.look_up(services, parsed, asker):
                case lookups.KnownRequest(request=request):
                    return answers.status_message(request, lang=lang)
                case lookups.NoSuchRequest(ref=ref):
                    missing = t(lang, "lookup.no_request", ref=ref)
                    return answers.error_ephemeral(missing, grammar.USAGES["status"], lang=lang)
                case lookups.LookupScheduled():
                    return answers.looking_up(lang=lang)
                case lookups.ReadRefused(helpers=helpers):
                    return answers.no_role(helpers, lang=lang)
        case grammar.Cancel(request_id=request_id):
            return await cancel_by_command(services, request_id, command.user_id, lang)
        case grammar.KeepFor(ref=ref, keep=keep):
            return await keep_by_command(services, ref, keep, command.user_id, lang)
        case grammar.Audit(count=count):
            return await audit_by_command(services, command.user_id, count, lang)
    raise AssertionError(f"unhandled command {parsed!r}")  # pragma: no cover


async def cancel_by_command(services: Services, request_id: str, user_id: str, lang: Lang) -> Message | Later:
    """``/backup cancel``: decided from the caches when they tell who this is, else after the ack,
    with Slack asked (an approver the bot has not met yet may cancel, as by the button)."""

    def said(decision: Decision) -> Message:
        if decision.refusal is not None:
            return answers.decision_refusal(decision.refusal, lang=lang)
        return answers.cancelled(request_id, lang=lang)

    deadline = record_deadline(services)
    decision = await cancel(services, request_id, user_id, deadline=deadline, ask_slack=False)
    if not isinstance(decision.refusal, Unsettled):
        return said(decision)

    async def asking_slack() -> Message:
        return said(await cancel(services, request_id, user_id, deadline=record_deadline(services)))

    return Later(asking_slack)


async def keep_by_command(
    services: Services, ref: str, keep: Keep, user_id: str, lang: Lang
) -> Message | Later:
    """``/backup keep``: from the caches when they tell who this is, else after the ack with Slack
    asked (as for ``/backup cancel``)."""

    def said(result: retention.Kept | retention.NotKept) -> Message:
        if isinstance(result, retention.Kept):
            return lifetimes.kept(result.request, lang)
        return lifetimes.not_kept(result.reason, lang, result.longest)

    result = await retention.keep(services, ref, user_id, keep, ask_slack=False)
    if not (isinstance(result, retention.NotKept) and result.reason == "unsettled"):
        return said(result)

    async def asking_slack() -> Message:
        return said(await retention.keep(services, ref, user_id, keep))

    return Later(asking_slack)


async def audit_by_command(services: Services, user_id: str, count: int, lang: Lang) -> Message | Later:
    """``/backup audit``, for approvers; whether someone the caches do not know yet is one (a guest
    in an approver group is not) is settled after the ack."""

    async def listed(role: Role | None) -> Message:
        if role is not Role.APPROVER:
            return answers.audit_not_allowed(lang=lang)
        lines = [audit_line(e, lang=lang) for e in await services.audit_log.latest(count)]
        return answers.audit_list(lines, lang=lang)

    role = await services.access.role(user_id)
    if role is not None:
        return await listed(role)

    async def asking_slack() -> Message:
        return await listed(await services.access.role(user_id, ask_slack=True))

    return Later(asking_slack)


def help_notes(services: Services, lang: str) -> list[str]:
    notes = describe(services.policy, lang)
    if services.settings.cloud_auth.value == "none":
        notes.append(t(lang, "help.simulator"))
    return notes
