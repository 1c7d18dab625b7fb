"""``/backup``: parse, validate, authorize, record, schedule, then ``ack()`` — no cloud or Slack call
before the ack. Every refusal is private (the ack's own ephemeral text). ``/backup`` alone opens the
form right after the ack (a trigger_id lives three seconds).

Answers are in the user's language when the locale cache knows it, else in the default language
(and a worker fills the cache for next time): the web process never asks Slack before the ack."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import lookups
from bot.app.choices import warm_instances
from bot.app.intake import Accepted, Ask, refusal_for, take
from bot.app.services import Services
from bot.domain import grammar
from bot.domain.policy import Role
from bot.domain.request import utcnow
from bot.i18n import Lang, t
from bot.slack.listeners import Front
from bot.slack.render import answers, views
from bot.slack.render.audit import audit_line
from bot.slack.render.pieces import Message
from bot.slack.render.policy import describe
from bot.slack.render.request import parent_message

log = logging.getLogger("bot.slack.commands")


@dataclass(frozen=True)
class Reader:
    """Who gets the answer: the language to answer in, and whether the cache knew it (a request
    records only a known language; the worker finds out the rest)."""

    lang: Lang
    known: Lang | None


def register(app: AsyncApp, front: Front) -> None:
    services = front.services

    async def backup_command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        parsed = grammar.parse(command.get("text", ""))
        known = await services.languages.known(command["user_id"])
        reader = Reader(lang=known or services.languages.default, known=known)
        try:
            if isinstance(parsed, grammar.OpenModal):
                await open_form(services, ack, client, command, reader.lang)
                return
            message = await answer(services, parsed, command, reader)
        except RedisError:
            log.exception("Redis unavailable while handling /backup")
            message = answers.unavailable(lang=reader.lang)
        await ack(text=message.text, blocks=message.blocks)

    app.command("/backup")(backup_command)


async def open_form(
    services: Services, ack: AsyncAck, client: AsyncWebClient, command: dict[str, Any], lang: str
) -> None:
    """Check the role (Redis), ack, then open the form at once; the instance list loads separately."""
    refused = await refusal_for(services, command["user_id"])
    if refused is not None:
        refusal = answers.no_role(refused.helpers, lang=lang)
        await ack(text=refusal.text, blocks=refusal.blocks)
        return
    await warm_instances(services)
    await ack()
    view = views.backup_form(
        default_name=grammar.default_backup_name(utcnow()),
        channel_id=command.get("channel_id", ""),
        response_url=command.get("response_url", ""),
        lang=lang,
    )
    await client.views_open(trigger_id=command["trigger_id"], view=view)


async def answer(
    services: Services, parsed: grammar.Command, command: dict[str, Any], reader: Reader
) -> Message:
    """The ack for one parsed command, after recording whatever work it starts."""
    lang = reader.lang
    match parsed:
        case grammar.Invalid(problem=problem, usage=usage):
            return answers.error_ephemeral(problem, usage, lang=lang)
        case grammar.Help():
            return answers.help_message(grammar.USAGE, help_notes(services, lang), lang=lang)
        case grammar.Create():
            ask = Ask(
                team_id=command.get("team_id", ""),
                channel_id=command["channel_id"],
                user_id=command["user_id"],
                instance_ref=parsed.instance,
                backup_name=parsed.name,
                description=parsed.description,
                response_url=command.get("response_url", ""),
            )
            # Slack repeats a command's trigger_id on retries: one trigger never makes two requests.
            dedupe_key = f"trigger:{command.get('trigger_id')}"
            taken = await take(services, ask, dedupe_key=dedupe_key, known=reader.known)
            if isinstance(taken, Accepted):
                return answers.received(taken.request, lang=lang)
            return answers.no_role(taken.helpers, lang=lang)
        case grammar.Status() | grammar.List():
            asker = lookups.Asker(
                user_id=command["user_id"],
                channel_id=command["channel_id"],
                response_url=command.get("response_url", ""),
                lookup_id=str(command.get("trigger_id")),
                known=reader.known,
            )
            match await lookups.look_up(services, parsed, asker):
                case lookups.KnownRequest(request=request):
                    return parent_message(request, lang=lang)
                case lookups.NoSuchRequest(ref=ref):
                    missing = t(lang, "lookup.no_request", ref=ref)
                    return answers.error_ephemeral(missing, grammar.USAGES["status"], lang=lang)
                case lookups.LookupScheduled():
                    return answers.looking_up(lang=lang)
        case grammar.Audit(count=count):
            if await services.access.role(command["user_id"]) is not Role.APPROVER:
                return answers.audit_not_allowed(lang=lang)
            lines = [audit_line(e, lang=lang) for e in await services.audit_log.latest(count)]
            return answers.audit_list(lines, lang=lang)
    raise AssertionError(f"unhandled command {parsed!r}")  # pragma: no cover


def help_notes(services: Services, lang: str) -> list[str]:
    notes = describe(services.policy, lang)
    if services.settings.cloud_auth.value == "none":
        notes.append(t(lang, "help.simulator"))
    return notes
