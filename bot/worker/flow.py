"""Advance one backup request through its lifecycle, one idempotent step at a time.

The scheduler runs :meth:`RequestFlow.advance` for work key ``req:<id>``. Each step looks at the
request's stored state, does at most one side effect, records it, and moves on; a worker killed
anywhere re-runs the same step after its lease ends, and the records (CAS state changes, ``*_ts``
markers, ``create_attempted``) keep a retry from doing anything twice.

Order of a request: settle the requester's language (their Slack locale; every message about the
request and every cloud call made for it uses it), resolve the instance and decide who must approve
(both private: a typo or a missing role leaves no trace in the channel), post the parent message (an
approval request with buttons when needed), wait for the decision, create the backup, announce it,
hand it to the poller, and finally report the result in the thread.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from bot.cloud.client import TaurusDB
from bot.cloud.errors import (
    AmbiguousInstance,
    ApiError,
    Category,
    CloudError,
    InstanceNotFound,
    InvalidRequest,
    TransportError,
)
from bot.cloud.models import CreateBackupResult
from bot.domain.policy import Role, needs_approval
from bot.domain.request import BackupRequest, State, utcnow
from bot.i18n.readers import UserLanguages
from bot.services import Services
from bot.slack import blocks
from bot.store.audit import AuditAction, AuditEntry
from bot.store.requests import RequestStore, TransitionRefused
from bot.store.scheduler import Lease, Outcome
from bot.worker.slack_out import NotInChannel, SlackOut

log = logging.getLogger("bot.worker.flow")

MAX_CREATE_TRIES = 8
NAME_TAKEN_CODE = "DBS.201209"  # the service's own code for "the backup name already exists"
NOT_IN_CHANNEL_RETRY_SECONDS = 30.0
NOT_IN_CHANNEL_GIVE_UP_SECONDS = 3600.0

_FINAL_AUDIT = {
    State.COMPLETED: AuditAction.COMPLETED,
    State.FAILED: AuditAction.FAILED,
    State.TIMED_OUT: AuditAction.TIMED_OUT,
}


def request_key(request_id: str) -> str:
    return f"req:{request_id}"


def expiry_key(request_id: str) -> str:
    return f"expire:{request_id}"


def poll_key(project_id: str) -> str:
    return f"poll:{project_id}"


def backoff(tries: int, *, base: float = 2.0, cap: float = 120.0) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(base / 2, min(cap, base * 2 ** max(0, tries - 1)))


def audit_entry(
    request: BackupRequest, action: AuditAction, *, actor: str = "bot", detail: str = ""
) -> AuditEntry:
    return AuditEntry(
        actor=actor,
        action=action,
        request_id=request.id,
        instance_id=request.instance_id,
        instance_name=request.instance_name or request.instance_ref,
        backup_name=request.backup_name,
        backup_id=request.backup_id,
        cloud_request_id=request.cloud_request_id,
        detail=detail,
    )


@dataclass
class RequestFlow:
    services: Services
    slack: SlackOut
    cloud: TaurusDB
    languages: UserLanguages

    @property
    def store(self) -> RequestStore:
        return self.services.store

    async def advance(self, lease: Lease) -> Outcome:
        request_id = lease.key.split(":", 1)[1]
        for _ in range(12):  # every state below either returns or moves the request forward
            request = await self.store.get(request_id)
            if request is None:
                log.warning("work for unknown request %s dropped", request_id)
                return Outcome.finished()
            outcome = await self._step(request)
            if outcome is not None:
                return outcome
        return Outcome.later(1.0)

    async def expire(self, lease: Lease) -> Outcome:
        """A pending request's approval window closed: EXPIRED, unless someone decided first."""
        request_id = lease.key.split(":", 1)[1]
        try:
            request = await self.store.transition(
                request_id, State.EXPIRED, from_states=[State.PENDING_APPROVAL]
            )
        except TransitionRefused:
            return Outcome.finished()
        await self.services.record(audit_entry(request, AuditAction.EXPIRED))
        await self.services.scheduler.schedule(request_key(request_id), {})
        return Outcome.finished()

    async def _step(self, request: BackupRequest) -> Outcome | None:
        """Do the next thing for ``request``; None means "look again", else the outcome."""
        if not request.language:
            # The web process did not know the requester's locale: find it before saying anything.
            await self.store.set_once(request.id, "language", await self.languages.resolve(request.user_id))
            return None
        if request.state is State.RECEIVED:
            if not request.instance_id:
                return await self._resolve_instance(request)
            return await self._admit(request)
        if not request.parent_ts and not request.state.final:
            return await self._post_parent(request)
        match request.state:
            case State.PENDING_APPROVAL:
                if request.expires_at is not None:
                    wait = max(0.0, (request.expires_at - utcnow()).total_seconds())
                    await self.services.scheduler.schedule(expiry_key(request.id), {}, delay=wait)
                return Outcome.finished()  # the web process schedules us again on a decision
            case State.APPROVED:
                if not request.decision_reply_ts:
                    ts = await self.slack.reply(request, blocks.decision_reply(request), event="decision")
                    await self.store.set_once(request.id, "decision_reply_ts", ts)
                await self._move(request, State.CREATING, State.APPROVED)
                return None
            case State.CREATING:
                return await self._create(request)
            case State.BUILDING | State.TIMED_OUT:
                await self._announce_created(request)
                await self.store.track(self.services.project_id, request)
                await self.services.scheduler.schedule(
                    poll_key(self.services.project_id), {}, delay=self.services.settings.poll_interval
                )
                if request.state is State.TIMED_OUT and not request.timeout_reply_ts:
                    message = blocks.final_reply(request, timeout_s=self.services.settings.poll_timeout)
                    ts = await self.slack.reply(request, message, event="timeout")
                    if await self.store.set_once(request.id, "timeout_reply_ts", ts):
                        await self.services.record(audit_entry(request, AuditAction.TIMED_OUT))
                await self.slack.update_parent(request, blocks.parent_message(request))
                return Outcome.finished()
            case _:
                return await self._finish(request)

    async def _move(self, request: BackupRequest, target: State, *sources: State, **fields: object) -> bool:
        try:
            await self.store.transition(request.id, target, from_states=sources, **fields)
        except TransitionRefused as exc:
            log.info("%s: %s (another step won)", request.id, exc)
            return False
        return True

    async def _refuse_privately(
        self, request: BackupRequest, message: blocks.Message, code: str, why: str
    ) -> Outcome:
        """End a request before anything was posted in the channel; only the requester is told."""
        await self.slack.tell_requester(request, message)
        if await self._move(request, State.CREATE_FAILED, State.RECEIVED, error_code=code, error_msg=why):
            await self.services.record(
                audit_entry(request, AuditAction.REFUSED, actor=request.user_id, detail=why)
            )
        return Outcome.finished()

    async def _resolve_instance(self, request: BackupRequest) -> Outcome | None:
        """Turn the typed name or ID into an instance before anything is posted in the channel: a
        typo is answered privately, with the closest names, and leaves no trace in public."""
        try:
            instance = await self.cloud.find_instance(request.instance_ref, language=request.language)
        except InstanceNotFound as exc:
            message = blocks.instance_not_found(exc.ref, exc.suggestions, lang=request.language)
            return await self._refuse_privately(request, message, blocks.INSTANCE_NOT_FOUND, str(exc))
        except AmbiguousInstance as exc:
            message = blocks.ambiguous_instance(exc.ref, exc.choices, lang=request.language)
            return await self._refuse_privately(request, message, blocks.AMBIGUOUS_INSTANCE, str(exc))
        except CloudError as exc:
            if request.create_tries < MAX_CREATE_TRIES and exc.retryable:
                await self.store.update(request.id, create_tries=request.create_tries + 1)
                return Outcome.later(backoff(request.create_tries))
            message = blocks.cloud_error(exc, lang=request.language)
            return await self._refuse_privately(request, message, "cloud", str(exc))
        await self.store.update(
            request.id, instance_id=instance.id, instance_name=instance.name, create_tries=0
        )
        return None

    async def _admit(self, request: BackupRequest) -> Outcome | None:
        """Settle the requester's role (when the web could not) and whether an approver must agree."""
        policy = self.services.policy
        role = Role(request.role) if request.role >= 0 else await self.services.access.role(request.user_id)
        if role is None:
            return Outcome.later(5.0)  # group membership not synced yet; the sync is scheduled
        if role is Role.NONE:
            helpers = await self.services.access.mentions(Role.APPROVER)
            message = blocks.no_role(helpers, lang=request.language)
            return await self._refuse_privately(request, message, blocks.NOT_AUTHORIZED, "no role")
        if needs_approval(policy, role, request.instance_name, request.instance_id):
            expires = utcnow() + timedelta(seconds=policy.expires_after)
            if await self._move(
                request,
                State.PENDING_APPROVAL,
                State.RECEIVED,
                role=int(role),
                needs_approval=True,
                expires_at=expires,
            ):
                await self.services.record(audit_entry(request, AuditAction.APPROVAL_REQUESTED))
        else:
            await self._move(request, State.CREATING, State.RECEIVED, role=int(role))
        return None

    async def _post_parent(self, request: BackupRequest) -> Outcome | None:
        approvers = (
            await self.services.access.mentions(Role.APPROVER)
            if request.state is State.PENDING_APPROVAL
            else None
        )
        try:
            ts = await self.slack.post_parent(request, blocks.parent_message(request, approvers))
        except NotInChannel:
            age = (utcnow() - request.created_at).total_seconds()
            if age > NOT_IN_CHANNEL_GIVE_UP_SECONDS:
                target = State.EXPIRED if request.state is State.PENDING_APPROVAL else State.CREATE_FAILED
                await self._move(
                    request,
                    target,
                    request.state,
                    error_code=blocks.NOT_IN_CHANNEL,
                    error_msg="the bot was never invited to the channel",
                )
                await self.slack.tell_requester(request, blocks.gave_up_not_in_channel(request))
                return Outcome.finished()
            if await self.store.set_once(request.id, "error_code", blocks.NOT_IN_CHANNEL):
                await self.slack.tell_requester(request, blocks.invite_hint(request))
            return Outcome.later(NOT_IN_CHANNEL_RETRY_SECONDS)
        await self.store.set_once(request.id, "parent_ts", ts)
        if request.error_code == blocks.NOT_IN_CHANNEL:
            await self.store.update(request.id, error_code="")
        return None

    async def _create(self, request: BackupRequest) -> Outcome | None:
        try:
            if not request.create_attempted and await self._name_taken(request):
                await self._create_failed(
                    request,
                    NAME_TAKEN_CODE,
                    f"a backup named {request.backup_name} already exists on this instance; "
                    "choose another name",
                )
                return None
            result = await self._find_earlier_create(request)
            if result is None:
                await self.store.update(
                    request.id, create_attempted=True, create_tries=request.create_tries + 1
                )
                result = await self.cloud.create_backup(
                    request.instance_id,
                    request.backup_name,
                    request.description or None,
                    language=request.language,
                )
        except InvalidRequest as exc:
            await self._create_failed(request, type(exc).__name__, str(exc))
            return None
        except ApiError as exc:
            busy = exc.category is Category.BUSY and exc.retryable
            if (busy or exc.retryable) and request.create_tries < MAX_CREATE_TRIES:
                if busy and not request.busy_notice_ts:
                    ts = await self.slack.reply(
                        request, blocks.busy_notice(request, exc.error_msg), event="busy"
                    )
                    await self.store.set_once(request.id, "busy_notice_ts", ts)
                return Outcome.later(backoff(request.create_tries, base=10.0 if busy else 2.0))
            await self._create_failed(
                request, exc.error_code, exc.error_msg or exc.note, cloud_request_id=exc.request_id
            )
            return None
        except (TransportError, CloudError) as exc:
            if request.create_tries < MAX_CREATE_TRIES:
                log.warning("%s: create not confirmed (%s); will look before trying again", request.id, exc)
                return Outcome.later(backoff(request.create_tries))
            await self._create_failed(request, "transport", str(exc))
            return None
        moved = await self._move(
            request,
            State.BUILDING,
            State.CREATING,
            backup_id=result.backup.id,
            job_id=result.job_id,
            begin_time=result.backup.begin_time or utcnow(),
            error_code="",
            error_msg="",
        )
        if moved:
            started = request.model_copy(update={"backup_id": result.backup.id})
            await self.services.record(
                audit_entry(started, AuditAction.BACKUP_STARTED, detail=f"job {result.job_id}")
            )
        return None

    async def _name_taken(self, request: BackupRequest) -> bool:
        """Before the first POST: is the name already used on the instance? Looking a backup up by
        instance and name after an unclear create is only proof when the name was free before."""
        found = await self.cloud.find_backup(
            request.instance_id, request.backup_name, language=request.language
        )
        return found is not None

    async def _find_earlier_create(self, request: BackupRequest) -> CreateBackupResult | None:
        """After a crash or an unconfirmed POST, the backup may already exist: names are unique
        per request, so finding it by instance and name is proof."""
        if not request.create_attempted:
            return None
        found = await self.cloud.find_backup(
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

    async def _create_failed(self, request: BackupRequest, code: str, message: str, **fields: object) -> None:
        if await self._move(
            request, State.CREATE_FAILED, State.CREATING, error_code=code, error_msg=message, **fields
        ):
            await self.services.record(
                audit_entry(request, AuditAction.CREATE_FAILED, detail=f"{code}: {message}")
            )

    async def _announce_created(self, request: BackupRequest) -> None:
        if request.backup_id and not request.created_reply_ts:
            ts = await self.slack.reply(request, blocks.created_reply(request), event="created")
            await self.store.set_once(request.id, "created_reply_ts", ts)

    async def _finish(self, request: BackupRequest) -> Outcome:
        if not request.parent_ts:
            return Outcome.finished()  # refused before anything was posted; the requester was told
        await self._announce_created(request)
        if not request.final_reply_ts:
            ts = await self.slack.reply(request, blocks.final_reply(request), event="final")
            if await self.store.set_once(request.id, "final_reply_ts", ts):
                if action := _FINAL_AUDIT.get(request.state):
                    await self.services.record(audit_entry(request, action, detail=request.error_msg))
                if request.state is State.EXPIRED:
                    await self.slack.tell_requester(request, blocks.final_reply(request))
        await self.slack.update_parent(request, blocks.parent_message(request))
        await self.store.untrack(self.services.project_id, request.id)
        return Outcome.finished()
