"""Answers to ``/backup status`` and ``/backup list`` that need the cloud, sent through the command's
``response_url`` (private to the person who asked), in their language — the cloud is asked in it too
(``X-Language``), so its own error messages match the rest of the answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.cloud.client import TaurusDB
from bot.cloud.errors import AmbiguousInstance, CloudError, InstanceNotFound
from bot.i18n import as_lang, t
from bot.i18n.readers import UserLanguages
from bot.slack import blocks
from bot.store.scheduler import Lease, Outcome

log = logging.getLogger("bot.worker.lookups")


def lookup_key(trigger_id: str) -> str:
    return f"lookup:{trigger_id}"


@dataclass
class Lookups:
    cloud: TaurusDB
    languages: UserLanguages

    async def answer(self, lease: Lease) -> Outcome:
        payload = lease.payload
        if not payload.get("language"):
            # The web process did not know the asker's locale; settle it once, for every retry too.
            language = await self.languages.resolve(str(payload.get("user_id", "")))
            payload = {**payload, "language": language}
        lang = as_lang(str(payload["language"]))
        try:
            if payload["kind"] == "status":
                page = await self.cloud.list_backups(backup_id=str(payload["ref"]), language=lang)
                message = (
                    blocks.record_status(page.backups[0], lang=lang)
                    if page.backups
                    else blocks.error_ephemeral(t(lang, "lookup.no_backup", ref=payload["ref"]), lang=lang)
                )
            else:
                instance = await self.cloud.find_instance(str(payload["instance"]), language=lang)
                page = await self.cloud.list_backups(
                    instance_id=instance.id, limit=int(payload["count"]), language=lang
                )
                message = blocks.backup_list_message(instance.name, page.backups, lang=lang)
        except InstanceNotFound as exc:
            message = blocks.instance_not_found(exc.ref, exc.suggestions, lang=lang)
        except AmbiguousInstance as exc:
            message = blocks.ambiguous_instance(exc.ref, exc.choices, lang=lang)
        except CloudError as exc:
            tries = int(payload.get("tries", 0))
            if tries < 3 and exc.retryable:
                return Outcome.later(2.0 * (tries + 1), payload={**payload, "tries": tries + 1})
            message = blocks.cloud_error(exc, lang=lang)
        url = str(payload.get("response_url", ""))
        if url:
            await AsyncWebhookClient(url).send(
                text=message.text, blocks=message.blocks, response_type="ephemeral", replace_original=False
            )
        return Outcome.finished()
