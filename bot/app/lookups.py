"""``/backup status`` and ``/backup list``: what the bot knows is answered at once (web process,
Redis only); what needs the cloud is an :class:`~bot.app.work.AnswerLookup` a worker answers
through the command's ``response_url`` (private to the person who asked), in their language — the
cloud is asked in it too (``X-Language``), so its own error messages match the rest of the answer."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app import notices
from bot.app.services import Services
from bot.app.work import AnswerLookup, schedule
from bot.cloud.errors import AmbiguousInstance, CloudError, InstanceNotFound
from bot.domain import grammar
from bot.domain.backoff import backoff
from bot.domain.request import BackupRequest
from bot.i18n import Lang, as_lang
from bot.store.scheduler import Outcome

MAX_TRIES = 3


@dataclass(frozen=True)
class KnownRequest:
    request: BackupRequest


@dataclass(frozen=True)
class NoSuchRequest:
    ref: str


@dataclass(frozen=True)
class LookupScheduled:
    """A worker answers through the response URL."""


LookupResult = KnownRequest | NoSuchRequest | LookupScheduled


@dataclass(frozen=True)
class Asker:
    user_id: str
    channel_id: str
    response_url: str
    lookup_id: str  # unique per command (its trigger): one command, one answer
    known: Lang | None  # None: the worker asks Slack for their language first


async def look_up(services: Services, parsed: grammar.Status | grammar.List, asker: Asker) -> LookupResult:
    if isinstance(parsed, grammar.Status):
        store = services.store
        known = await (store.get(parsed.ref) if parsed.is_request_id else store.by_backup_id(parsed.ref))
        if known is not None:
            return KnownRequest(known)
        if parsed.is_request_id:
            return NoSuchRequest(parsed.ref)
        what: dict[str, object] = {"what": "status", "ref": parsed.ref}
    else:
        what = {"what": "list", "instance": parsed.instance, "count": parsed.count}
    work = AnswerLookup.model_validate(
        {
            **what,
            "lookup_id": asker.lookup_id,
            "response_url": asker.response_url,
            "user_id": asker.user_id,
            "channel_id": asker.channel_id,
            "language": asker.known or "",
        }
    )
    await schedule(services.scheduler, work)
    return LookupScheduled()


async def answer(services: Services, work: AnswerLookup) -> Outcome:
    """The worker's half: ask the cloud, answer privately (retrying passing cloud errors a little)."""
    if not work.language:
        # The web process did not know the asker's locale; settle it once, for every retry too.
        work = work.model_copy(update={"language": await services.languages.resolve(work.user_id)})
    lang = as_lang(work.language)
    cloud = services.taurusdb
    notice: notices.Notice
    try:
        if work.what == "status":
            page = await cloud.list_backups(backup_id=work.ref, language=lang)
            notice = notices.BackupFound(page.backups[0]) if page.backups else notices.NoSuchBackup(work.ref)
        else:
            instance = await cloud.find_instance(work.instance, language=lang)
            page = await cloud.list_backups(instance_id=instance.id, limit=work.count, language=lang)
            notice = notices.BackupListing(instance.name, tuple(page.backups))
    except InstanceNotFound as exc:
        notice = notices.InstanceNotFound(exc.ref, tuple(exc.suggestions))
    except AmbiguousInstance as exc:
        notice = notices.AmbiguousInstance(exc.ref, tuple(exc.choices))
    except CloudError as exc:
        if work.tries < MAX_TRIES and exc.retryable:
            retry = work.model_copy(update={"tries": work.tries + 1})
            return Outcome.later(
                backoff(retry.tries, base=2.0, cap=10.0, jitter=0.5), payload=retry.payload()
            )
        notice = notices.CloudFailed(str(exc))
    if work.response_url:
        await services.slack.answer(work.response_url, notice, lang=lang)
    return Outcome.finished()
