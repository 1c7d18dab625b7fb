"""The CREATING step: call ``POST /v3/{project_id}/backups/create`` exactly once per request.

The create has no idempotency key. So before the first POST the name must be free on the instance
(finding "our" backup by instance and name after an unclear create is proof only then), and after a
crash or an unconfirmed POST the backup is looked up by instance and name before anything is sent
again. The try is counted right before the POST by a compare-and-set fenced by the run's lease, so
of two runs (one that stalled past its lease and the one that took it over) only the current one
sends it. A busy instance (another backup running) is said once in the thread and retried with backoff.
"""

from __future__ import annotations

import logging

from bot.app.ports import ReplyKind, running
from bot.app.replies import reply_once
from bot.app.requests import audit_entry, cloud_of, move
from bot.app.services import Services
from bot.cloud.errors import ApiError, Category, CloudError, InvalidRequest, TransportError
from bot.cloud.models import CreateBackupResult
from bot.domain.audit import AuditAction
from bot.domain.backoff import backoff
from bot.domain.request import NAME_TAKEN, BackupRequest, State, utcnow
from bot.store.outcome import Outcome

log = logging.getLogger("bot.app.creating")

MAX_CREATE_TRIES = 8


def _retry_in(tries: int, *, busy: bool) -> float:
    return backoff(tries, base=10.0 if busy else 2.0, cap=120.0, jitter=0.5)


async def create_backup(services: Services, request: BackupRequest) -> Outcome | None:
    """Do the create (or find the one an earlier attempt made); None means "look again"."""
    cloud = cloud_of(services, request)
    try:
        if not request.create_attempted and await _name_taken(services, request):
            await _create_failed(
                services,
                request,
                NAME_TAKEN,
                f"a backup named {request.backup_name} already exists on this instance; choose another name",
            )
            return None
        result = await _find_earlier_create(services, request)
        if result is None:
            lease = running.get()
            fence = services.scheduler.fence(lease) if lease is not None else None
            if not await services.store.claim_create(request.id, request.create_tries, fence=fence):
                # Another run counted a try since this one read the request, or this run's lease
                # was taken over (it stalled past it): the create is theirs to send, not ours.
                log.warning("%s: not sending the create: another run has it", request.id)
                return Outcome.finished()
            result = await cloud.create_backup(
                request.instance_id,
                request.backup_name,
                request.description or None,
                language=request.language,
            )
    except InvalidRequest as exc:
        await _create_failed(services, request, type(exc).__name__, str(exc))
        return None
    except ApiError as exc:
        busy = exc.category is Category.BUSY and exc.retryable
        if (busy or exc.retryable) and request.create_tries < MAX_CREATE_TRIES:
            if busy and not request.busy_notice_ts:
                ts = await reply_once(
                    services, request, ReplyKind.BUSY, "busy_notice_ts", detail=exc.error_msg
                )
                await services.store.set_once(request.id, "busy_notice_ts", ts)
            return Outcome.later(_retry_in(request.create_tries, busy=busy))
        await _create_failed(
            services, request, exc.error_code, exc.error_msg or exc.note, cloud_request_id=exc.request_id
        )
        return None
    except (TransportError, CloudError) as exc:
        if request.create_tries < MAX_CREATE_TRIES:
            log.warning("%s: create not confirmed (%s); will look before trying again", request.id, exc)
            return Outcome.later(_retry_in(request.create_tries, busy=False))
        await _create_failed(services, request, "transport", str(exc))
        return None
    moved = await move(
        services,
        request.id,
        State.BUILDING,
        State.CREATING,
        backup_id=result.backup.id,
        job_id=result.job_id,
        begin_time=result.backup.begin_time or utcnow(),
        error_code="",
        error_msg="",
    )
    if moved is not None:
        await services.record(audit_entry(moved, AuditAction.BACKUP_STARTED, detail=f"job {result.job_id}"))
    return None


async def _name_taken(services: Services, request: BackupRequest) -> bool:
    """Before the first POST: is the name already used on the instance?"""
    found = await cloud_of(services, request).find_backup(
        request.instance_id, request.backup_name, language=request.language
    )
    return found is not None


async def _find_earlier_create(services: Services, request: BackupRequest) -> CreateBackupResult | None:
    """After a crash or an unconfirmed POST, the backup may already exist: names are unique per
    request, so finding it by instance and name is proof."""
    if not request.create_attempted:
        return None
    found = await cloud_of(services, request).find_backup(
        request.instance_id, request.backup_name, language=request.language
    )
    if found is None:
        return None
    log.info("%s: found backup %s from an earlier attempt", request.id, found.id)
    return CreateBackupResult.model_validate(
        {
            "backup": found.model_dump(
                include={"id", "name", "description", "begin_time", "status", "instance_id"}
            ),
            "job_id": "",
        }
    )


async def _create_failed(
    services: Services, request: BackupRequest, code: str, message: str, **fields: object
) -> None:
    moved = await move(
        services,
        request.id,
        State.CREATE_FAILED,
        State.CREATING,
        error_code=code,
        error_msg=message,
        **fields,
    )
    if moved is not None:
        await services.record(audit_entry(request, AuditAction.CREATE_FAILED, detail=f"{code}: {message}"))
