"""``/backup status`` and ``/backup list``: what the bot knows is answered at once (web process,
Redis only); what needs the cloud is an :class:`~bot.app.work.AnswerLookup` a worker answers
through the command's ``response_url`` (private to the person who asked), in their language — the
cloud is asked in it too (``X-Language``), so its own error messages match the rest of the answer."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app import notices
from bot.app.decisions import NO_ROLE
from bot.app.people import People
from bot.app.services import Services
from bot.app.work import AnswerLookup, schedule
from bot.cloud.errors import AmbiguousInstance, CloudError, InstanceNotFound
from bot.domain import grammar
from bot.domain.audit import AuditAction, AuditEntry
from bot.domain.backoff import backoff
from bot.domain.gates import may_read
from bot.domain.policy import Role
from bot.domain.request import BackupRequest
from bot.i18n import Lang, as_lang
from bot.store.outcome import Outcome

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


@dataclass(frozen=True)
class ReadRefused:
    """Reading needs a role; the asker holds none. Nothing was read."""

    helpers: People


LookupResult = KnownRequest | NoSuchRequest | LookupScheduled | ReadRefused


@dataclass(frozen=True)
class Asker:
    user_id: str
    channel_id: str
    response_url: str
    lookup_id: str  # unique per command (its trigger): one command, one answer
    known: Lang | None  # None: the worker asks Slack for their language first


async def _refuse_reading(services: Services, user_id: str) -> ReadRefused:
    await services.record(AuditEntry(actor=user_id, action=AuditAction.REFUSED, detail=NO_ROLE))
    return ReadRefused(await services.access.holding(Role.APPROVER))


async def _known(services: Services, ref: str) -> BackupRequest | None:
    store = services.store
    return await (store.get(ref) if ref.startswith("r-") else store.by_backup_id(ref))


async def look_up(services: Services, parsed: grammar.Status | grammar.List, asker: Asker) -> LookupResult:
    """What the bot knows answered now; the rest scheduled. Nothing is read — not even what the bot
    itself recorded — for someone with no role; when their role is not known yet (cold caches), the
    worker checks it before it reads anything."""
    role = await services.access.role(asker.user_id)
    if role is not None and not may_read(role):
        return await _refuse_reading(services, asker.user_id)
    if isinstance(parsed, grammar.Status):
        if role is not None:
            if (known := await _known(services, parsed.ref)) is not None:
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
        work = work.model_copy(update={"language": await services.people.language(work.user_id)})
    lang = as_lang(work.language)
    role = await services.access.role(work.user_id, ask_slack=True)
    if role is None or not may_read(role):
        refused = await _refuse_reading(services, work.user_id)
        await services.slack.answer(work.response_url, notices.NoRole(refused.helpers), lang=lang)
        return Outcome.finished()
    fleet = services.cloud
    notice: notices.Notice
    try:
        if work.what == "status" and (known := await _known(services, work.ref)) is not None:
            notice = notices.RequestStatus(known)
        elif work.what == "status" and work.ref.startswith("r-"):
            notice = notices.NoSuchRequest(work.ref)
        elif work.what == "status":
            located = await fleet.locate_backup(work.ref, language=lang)
            if located is None:
                notice = notices.NoSuchBackup(work.ref)
            else:
                region, record = located
                notice = notices.BackupFound(record, region if fleet.multi_region else "")
        else:
            instance = await fleet.find_instance(work.instance, language=lang)
            cloud = fleet.client(instance.region or None)
            page = await cloud.list_backups(instance_id=instance.id, limit=work.count, language=lang)
            notice = notices.BackupListing(fleet.label(instance), tuple(page.backups))
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
