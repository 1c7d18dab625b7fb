"""``/backup``: parse, validate, authorize, record, schedule, then ``ack()`` — no cloud or Slack call
before the ack. Every refusal is private (the ack's own ephemeral text)."""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.domain import grammar
from bot.domain.request import BackupRequest
from bot.services import Services
from bot.slack import blocks
from bot.worker.flow import request_key
from bot.worker.lookups import lookup_key

log = logging.getLogger("bot.slack.commands")


def register(app: AsyncApp, services: Services) -> None:
    async def backup_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        parsed = grammar.parse(command.get("text", ""))
        try:
            message = await answer(services, parsed, command)
        except RedisError:
            log.exception("Redis unavailable while handling /backup")
            message = blocks.unavailable()
        await ack(text=message.text, blocks=message.blocks)

    app.command("/backup")(backup_command)


async def answer(services: Services, parsed: grammar.Command, command: dict[str, Any]) -> blocks.Message:
    """The ack for one parsed command, after recording whatever work it starts."""
    match parsed:
        case grammar.Invalid(problem=problem, usage=usage):
            return blocks.error_ephemeral(problem, usage)
        case grammar.Help():
            return blocks.help_message(grammar.USAGE, help_notes(services))
        case grammar.OpenModal():
            return blocks.error_ephemeral("the backup form is not available yet", grammar.USAGE)
        case grammar.Create():
            return await _create(services, parsed, command)
        case grammar.Status() | grammar.List():
            return await _lookup(services, parsed, command)
        case grammar.Audit():
            return blocks.error_ephemeral("the audit log is not available yet", grammar.USAGE)
    raise AssertionError(f"unhandled command {parsed!r}")  # pragma: no cover


def help_notes(services: Services) -> list[str]:
    notes = ["No policy file is configured: everyone may take backups directly (open default)."]
    if services.settings.cloud_auth.value == "none":
        notes.append("No cloud credentials are configured: backups go to the built-in TaurusDB simulator.")
    return notes


async def _create(services: Services, parsed: grammar.Create, command: dict[str, Any]) -> blocks.Message:
    request = BackupRequest(
        team_id=command.get("team_id", ""),
        channel_id=command["channel_id"],
        user_id=command["user_id"],
        instance_ref=parsed.instance,
        backup_name=parsed.name,
        description=parsed.description,
        response_url=command.get("response_url", ""),
        language=services.settings.default_language,
    )
    # Slack repeats a command's trigger_id on retries: the same trigger never makes two requests.
    request_id, created = await services.store.create(
        request, dedupe_key=f"trigger:{command.get('trigger_id')}"
    )
    if created:
        await services.scheduler.schedule(request_key(request_id), {})
    return blocks.received(request.model_copy(update={"id": request_id}))


async def _lookup(
    services: Services, parsed: grammar.Status | grammar.List, command: dict[str, Any]
) -> blocks.Message:
    if isinstance(parsed, grammar.Status):
        known = (
            await services.store.get(parsed.ref)
            if parsed.is_request_id
            else await services.store.by_backup_id(parsed.ref)
        )
        if known is not None:
            return blocks.status_message(known)
        if parsed.is_request_id:
            return blocks.error_ephemeral(f"no request with ID {parsed.ref}", grammar.USAGES["status"])
        payload: dict[str, Any] = {"kind": "status", "ref": parsed.ref}
    else:
        payload = {"kind": "list", "instance": parsed.instance, "count": parsed.count}
    payload |= {
        "response_url": command.get("response_url", ""),
        "user_id": command["user_id"],
        "channel_id": command["channel_id"],
        "language": services.settings.default_language,
    }
    await services.scheduler.schedule(lookup_key(str(command.get("trigger_id"))), payload)
    return blocks.looking_up()
