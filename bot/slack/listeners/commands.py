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

from bot.domain import grammar
from bot.domain.policy import Role, describe
from bot.domain.request import utcnow
from bot.i18n import Lang, t
from bot.i18n.readers import UserLanguages
from bot.services import Services
from bot.slack import blocks, views
from bot.slack.intake import Ask, refusal_for, take
from bot.store.audit import audit_line
from bot.worker.housekeeping import instances_key
from bot.worker.lookups import lookup_key

log = logging.getLogger("bot.slack.commands")


def register(app: AsyncApp, services: Services) -> None:
    languages = UserLanguages.of(services)

    async def backup_command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        parsed = grammar.parse(command.get("text", ""))
        known = await languages.known(command["user_id"])
        reader = Reader(lang=known or languages.default, known=known)
        try:
            if isinstance(parsed, grammar.OpenModal):
                await open_form(services, ack, client, command, reader.lang)
                return
            message = await answer(services, parsed, command, reader)
        except RedisError:
            log.exception("Redis unavailable while handling /backup")
            message = blocks.unavailable(lang=reader.lang)
        await ack(text=message.text, blocks=message.blocks)

    app.command("/backup")(backup_command)


@dataclass(frozen=True)
class Reader:
    """Who gets the answer: the language to answer in, and whether the cache knew it (a request
    records only a known language; the worker finds out the rest)."""

    lang: Lang
    known: Lang | None


async def open_form(
    services: Services, ack: AsyncAck, client: AsyncWebClient, command: dict[str, Any], lang: str
) -> None:
    """Check the role (Redis), ack, then open the form at once; the instance list loads separately."""
    refusal = await refusal_for(services, command["user_id"], lang=lang)
    if refusal is not None:
        await ack(text=refusal.text, blocks=refusal.blocks)
        return
    await services.scheduler.schedule(instances_key(), {})
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
) -> blocks.Message:
    """The ack for one parsed command, after recording whatever work it starts."""
    lang = reader.lang
    match parsed:
        case grammar.Invalid(problem=problem, usage=usage):
            return blocks.error_ephemeral(problem, usage, lang=lang)
        case grammar.Help():
            return blocks.help_message(grammar.USAGE, help_notes(services, lang), lang=lang)
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
            return (await take(services, ask, dedupe_key=dedupe_key, lang=lang, known=reader.known)).message
        case grammar.Status() | grammar.List():
            return await _lookup(services, parsed, command, reader)
        case grammar.Audit(count=count):
            if await services.access.role(command["user_id"]) is not Role.APPROVER:
                return blocks.audit_not_allowed(lang=lang)
            lines = [audit_line(e, lang=lang) for e in await services.audit.latest(count)]
            return blocks.audit_list(lines, lang=lang)
    raise AssertionError(f"unhandled command {parsed!r}")  # pragma: no cover


def help_notes(services: Services, lang: str) -> list[str]:
    notes = describe(services.policy, lang)
    if services.settings.cloud_auth.value == "none":
        notes.append(t(lang, "help.simulator"))
    return notes


async def _lookup(
    services: Services, parsed: grammar.Status | grammar.List, command: dict[str, Any], reader: Reader
) -> blocks.Message:
    lang = reader.lang
    if isinstance(parsed, grammar.Status):
        known = (
            await services.store.get(parsed.ref)
            if parsed.is_request_id
            else await services.store.by_backup_id(parsed.ref)
        )
        if known is not None:
            return blocks.status_message(known, lang=lang)
        if parsed.is_request_id:
            problem = t(lang, "lookup.no_request", ref=parsed.ref)
            return blocks.error_ephemeral(problem, grammar.USAGES["status"], lang=lang)
        payload: dict[str, Any] = {"kind": "status", "ref": parsed.ref}
    else:
        payload = {"kind": "list", "instance": parsed.instance, "count": parsed.count}
    payload |= {
        "response_url": command.get("response_url", ""),
        "user_id": command["user_id"],
        "channel_id": command["channel_id"],
        # Empty when the cache does not know it yet: the worker asks Slack before calling the cloud.
        "language": reader.known or "",
    }
    await services.scheduler.schedule(lookup_key(str(command.get("trigger_id"))), payload)
    return blocks.looking_up(lang=lang)
