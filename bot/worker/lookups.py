"""Answers to ``/backup status`` and ``/backup list`` that need the cloud, sent through the command's
``response_url`` (private to the person who asked)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.cloud.client import TaurusDB
from bot.cloud.errors import CloudError, InstanceNotFound
from bot.slack import blocks
from bot.store.scheduler import Lease, Outcome

log = logging.getLogger("bot.worker.lookups")


def lookup_key(trigger_id: str) -> str:
    return f"lookup:{trigger_id}"


@dataclass
class Lookups:
    cloud: TaurusDB

    async def answer(self, lease: Lease) -> Outcome:
        payload = lease.payload
        language = str(payload.get("language", "en-us"))
        try:
            if payload["kind"] == "status":
                page = await self.cloud.list_backups(backup_id=str(payload["ref"]), language=language)
                message = (
                    blocks.record_status(page.backups[0])
                    if page.backups
                    else blocks.error_ephemeral(f"no backup with ID {payload['ref']}", None)
                )
            else:
                instance = await self.cloud.find_instance(str(payload["instance"]), language=language)
                page = await self.cloud.list_backups(
                    instance_id=instance.id, limit=int(payload["count"]), language=language
                )
                message = blocks.backup_list_message(instance.name, page.backups)
        except InstanceNotFound as exc:
            message = blocks.instance_not_found(exc.ref, exc.suggestions)
        except CloudError as exc:
            tries = int(payload.get("tries", 0))
            if tries < 3 and exc.retryable:
                return Outcome.later(2.0 * (tries + 1), payload={**payload, "tries": tries + 1})
            message = blocks.error_ephemeral(f"the cloud answered: {exc}", None)
        url = str(payload.get("response_url", ""))
        if url:
            await AsyncWebhookClient(url).send(
                text=message.text, blocks=message.blocks, response_type="ephemeral", replace_original=False
            )
        return Outcome.finished()
