"""Advance one backup request through its lifecycle, one idempotent step at a time.

The worker runs :meth:`RequestFlow.advance` for each :class:`~bot.app.work.AdvanceRequest`. Each
step looks at the request's stored state, does at most one side effect, records it, and moves on; a
worker killed anywhere re-runs the same step after its lease ends, and the records (CAS state
changes, ``*_ts`` markers, ``create_attempted``) keep a retry from doing anything twice.

Order of a request: settle the requester's language (their Slack locale; every message about the
request and every cloud call made for it uses it), settle their role (someone who may not ask is
refused before anything about instances is looked up or said), resolve the instance and decide who
must approve (both private: a typo leaves no trace in the channel), post the parent message (an
approval request with buttons when needed), wait for the decision, create the backup
(:mod:`bot.app.creating`), announce it, hand it to the poller, and finally report the result in the
thread and then, in a run of its own in the background, on the parent message (when many backups end
together, every final reply goes first).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.app import home, notices, planned, retention
from bot.app.asking import ask_by_dm
from bot.app.creating import create_backup
from bot.app.ports import DirectoryError, NotInChannel, ReplyKind
from bot.app.replies import reply_once
from bot.app.requests import audit_entry, move, move_and_advance, project_of
from bot.app.services import Services
from bot.app.work import AdvanceRequest, ExpireRequest, PollProject, schedule
from bot.cloud.errors import AmbiguousInstance, CloudError, InstanceNotFound
from bot.domain import gates
from bot.domain.audit import AuditAction
from bot.domain.backoff import backoff
from bot.domain.lifetimes import KeepRefusal
from bot.domain.policy import Role, name_of, role_named
from bot.domain.request import (
    AMBIGUOUS_INSTANCE,
    BAD_START,
    GAVE_UP,
    INSTANCE_NOT_FOUND,
    KEEP_REFUSED,
    NOT_A_MEMBER,
    NOT_AUTHORIZED,
    NOT_IN_CHANNEL,
    BackupRequest,
    State,
    utcnow,
)
from bot.store.outcome import Outcome

log = logging.getLogger("bot.app.lifecycle")

MAX_RESOLVE_TRIES = 8
MAX_VERIFY_TRIES = 8  # membership checks that failed in passing (two to four minutes of them)
NOT_IN_CHANNEL_RETRY_SECONDS = 30.0
NOT_IN_CHANNEL_GIVE_UP_SECONDS = 3600.0

_FINAL_AUDIT = {
    State.COMPLETED: AuditAction.COMPLETED,
    State.FAILED: AuditAction.FAILED,
    State.TIMED_OUT: AuditAction.TIMED_OUT,
}


@dataclass
class RequestFlow:
    services: Services

    async def advance(self, work: AdvanceRequest) -> Outcome:
        outcome = Outcome.later(1.0)
        for _ in range(12):  # every state below either returns or moves the request forward
            request = await self.services.store.get(work.request_id)
            if request is None:
                log.warning("work for unknown request %s dropped", work.request_id)
                return Outcome.finished()
            step = await self._step(request)
            if step is not None:
                outcome = step
                break
        if outcome.background:
            return outcome  # the Homes are shown with the parent, in the background run
        if (latest := await self.services.store.get(work.request_id)) is not None:
            await home.changed(self.services, latest)
        return outcome

    async def expire(self, work: ExpireRequest) -> Outcome:
        """A pending request's approval window closed: EXPIRED, unless someone decided first."""
        services = self.services
        moved = await move_and_advance(services, work.request_id, State.EXPIRED, State.PENDING_APPROVAL)
        if moved and (request := await services.store.get(work.request_id)) is not None:
            await services.record(audit_entry(request, AuditAction.EXPIRED))
        return Outcome.finished()

    async def _step(self, request: BackupRequest) -> Outcome | None:
        """Do the next thing for ``request``; None means "look again", else the outcome."""
        services = self.services
        if not request.language:
            # The web process did not know the requester's locale: find it before saying anything.
            language = await services.people.language(request.user_id)
            await services.store.set_once(request.id, "language", language)
            return None
        if request.state is State.RECEIVED:
            if not request.role:
                return await self._settle_role(request)
            if request.verify_channel:
                return await self._verify_channel(request)
            if request.at_asked and request.start_at is None:
                return await self._settle_start(request)
            if not request.instance_id:
                return await self._resolve_instance(request)
            return await self._admit(request)
        if not request.parent_ts and not request.state.final:
            return await self._post_parent(request)
        match request.state:
            case State.PENDING_APPROVAL:
                await ask_by_dm(services, request)
                if request.deadline is not None:
                    wait = max(0.0, request.deadline - await services.clock.now())
                    await schedule(services.scheduler, ExpireRequest(request_id=request.id), delay=wait)
                return Outcome.finished()  # a decision schedules us again
            case State.APPROVED:
                if not request.decision_reply_ts:
                    approvers = await services.access.named(tuple(request.approvers))
                    slot = "decision_reply_ts"
                    ts = await reply_once(services, request, ReplyKind.DECISION, slot, people=approvers)
                    await services.store.set_once(request.id, "decision_reply_ts", ts)
                await services.slack.update_parent(request)
                if planned.waits(request, await services.clock.now()):
                    await planned.wait_for_start(services, request, State.APPROVED)
                else:
                    await move(services, request.id, State.CREATING, State.APPROVED)
                return None
            case State.SCHEDULED:
                return await planned.keep_waiting(services, request)
            case State.CREATING:
                if request.start_at is not None and not request.start_reply_ts:
                    ts = await reply_once(services, request, ReplyKind.STARTING, "start_reply_ts")
                    await services.store.set_once(request.id, "start_reply_ts", ts)
                return await create_backup(services, request)
            case State.BUILDING | State.TIMED_OUT:
                await self._announce_created(request)
                project_id = project_of(services, request)
                await services.store.track(project_id, request)
                await schedule(
                    services.scheduler,
                    PollProject(project_id=project_id),
                    delay=services.settings.poll_interval,
                )
                if request.state is State.TIMED_OUT and not request.timeout_reply_ts:
                    timeout = services.settings.poll_timeout
                    ts = await reply_once(
                        services, request, ReplyKind.TIMEOUT, "timeout_reply_ts", timeout_s=timeout
                    )
                    if await services.store.set_once(request.id, "timeout_reply_ts", ts):
                        await services.record(audit_entry(request, AuditAction.TIMED_OUT))
                await services.slack.update_parent(request)
                return Outcome.finished()
            case _:
                return await self._finish(request)

    async def _refuse_privately(
        self, request: BackupRequest, notice: notices.Notice, code: str, why: str
    ) -> Outcome:
        """End a request before anything was posted in the channel; only the requester is told."""
        await self.services.slack.tell_requester(request, notice)
        moved = await move(
            self.services, request.id, State.CREATE_FAILED, State.RECEIVED, error_code=code, error_msg=why
        )
        if moved is not None:
            await self.services.record(
                audit_entry(request, AuditAction.REFUSED, actor=request.user_id, detail=why)
            )
        return Outcome.finished()

    async def _settle_role(self, request: BackupRequest) -> Outcome | None:
        """The requester's role, when the web could not tell it from its caches, settled before
        anything else is done for them: someone who may not ask learns nothing, not even the names
        of instances close to a typo."""
        role = await self.services.access.role(request.user_id, ask_slack=True)
        if role is None:
            return Outcome.later(5.0)  # group membership not synced yet; the sync is scheduled
        if role < Role.REQUESTER:
            return await self._refuse_no_role(request)
        await self.services.store.update(request.id, role=name_of(role))
        return None

    async def _refuse_no_role(self, request: BackupRequest) -> Outcome:
        helpers = await self.services.access.holding(Role.APPROVER)
        return await self._refuse_privately(request, notices.NoRole(helpers), NOT_AUTHORIZED, "no role")

    async def _verify_channel(self, request: BackupRequest) -> Outcome | None:
        """A channel the requester picked (or a form brought back) is used only if they are in it:
        the bot never posts, or joins, where the requester could not post themselves."""
        services = self.services
        try:
            member = services.directory is not None and await services.directory.is_member(
                request.user_id, request.channel_id
            )
        except DirectoryError as exc:
            if not exc.lasting:
                # Counted on the request: a "later" starts the runner's count over, so only this
                # budget ends a check that keeps failing.
                tries = request.create_tries + 1
                if tries < MAX_VERIFY_TRIES:
                    await services.store.update(request.id, create_tries=tries)
                    return Outcome.later(backoff(tries, base=5.0, cap=60.0, jitter=0.5))
                why = f"Slack did not say who is in the channel ({exc}), {tries} times"
                return await self._refuse_privately(
                    request, notices.GaveUp(why, nothing_made=True), GAVE_UP, why
                )
            member = False
        if not member:
            return await self._refuse_privately(
                request, notices.NotAMember(request.channel_id), NOT_A_MEMBER, "not a member of the channel"
            )
        await services.store.update(request.id, verify_channel=False, create_tries=0)
        return None

    async def _settle_start(self, request: BackupRequest) -> Outcome | None:
        """``--at`` read in the requester's time zone, before any instance is looked up for them."""
        refusal = await planned.settle_start(self.services, request)
        if refusal is None:
            return None
        notice = notices.StartRefused(refusal.reason, request.at_asked)
        return await self._refuse_privately(request, notice, BAD_START, f"--at {request.at_asked}")

    async def _resolve_instance(self, request: BackupRequest) -> Outcome | None:
        """Turn the typed name or ID into an instance before anything is posted in the channel: a
        typo is answered privately, with the closest names, and leaves no trace in public."""
        services = self.services
        try:
            instance = await services.cloud.find_instance(request.instance_ref, language=request.language)
        except InstanceNotFound as exc:
            notice: notices.Notice = notices.InstanceNotFound(exc.ref, tuple(exc.suggestions))
            return await self._refuse_privately(request, notice, INSTANCE_NOT_FOUND, str(exc))
        except AmbiguousInstance as exc:
            notice = notices.AmbiguousInstance(exc.ref, tuple(exc.choices))
            return await self._refuse_privately(request, notice, AMBIGUOUS_INSTANCE, str(exc))
        except CloudError as exc:
            if request.create_tries < MAX_RESOLVE_TRIES and exc.retryable:
                await services.store.update(request.id, create_tries=request.create_tries + 1)
                return Outcome.later(backoff(request.create_tries, base=2.0, cap=120.0, jitter=0.5))
            return await self._refuse_privately(request, notices.CloudFailed(str(exc)), "cloud", str(exc))
        await services.store.update(
            request.id,
            instance_id=instance.id,
            instance_name=instance.name,
            region=instance.region,
            project_id=services.cloud.client(instance.region or None).project_id,
            show_region=services.cloud.multi_region,
            create_tries=0,
        )
        return None

    async def _admit(self, request: BackupRequest) -> Outcome | None:
        """Settle the requester's role (when the web could not) and whether, and whom, they wait for."""
        services = self.services
        person = await services.access.person(request.user_id, ask_slack=True)
        role = role_named(request.role) or (services.access.role_of(person) if person else None)
        if role is None or person is None:
            return Outcome.later(5.0)  # group membership not synced yet; the sync is scheduled
        if role < Role.REQUESTER:
            return await self._refuse_no_role(request)
        try:
            keep_for = retention.settle_keep(services, request, role)
        except KeepRefusal as exc:
            notice = notices.KeepRefused(exc.reason, exc.longest)
            return await self._refuse_privately(request, notice, KEEP_REFUSED, f"--keep {request.keep_asked}")
        kept = {"keep_for": keep_for, "keep_settled": True}
        instance = gates.Instance(request.instance_name, request.instance_id, request.region)
        gate = gates.gate_for(services.policy, role, instance)
        now = await services.clock.now()
        if gate is None:
            await services.store.update(request.id, role=name_of(role), **kept)
            if planned.waits(request, now):
                await planned.wait_for_start(services, request, State.RECEIVED)
            else:
                await move(services, request.id, State.CREATING, State.RECEIVED)
            return None
        # The deadline is Redis's time, which every decision checks in its own atomic step.
        deadline = planned.approval_deadline(request, now, services.policy.expires_after)
        moved = await move(
            services,
            request.id,
            State.PENDING_APPROVAL,
            State.RECEIVED,
            role=name_of(role),
            needs_approval=True,
            expires_at=datetime.fromtimestamp(deadline, UTC),
            deadline=deadline,
            approvers=list(gate.approvers),
            approver_group_ids=(await services.access.named(gate.approvers)).group_ids,
            approvals_needed=gate.min_approvals,
            gate_rule=gate.rule,
            notify=services.policy.notify.value,
            break_glass_allowed=services.access.may_break_glass(person),
            **kept,
        )
        if moved is not None:
            await services.record(audit_entry(request, AuditAction.APPROVAL_REQUESTED))
        return None

    async def _post_parent(self, request: BackupRequest) -> Outcome | None:
        services = self.services
        pending = request.state is State.PENDING_APPROVAL
        approvers = await services.access.named(tuple(request.approvers)) if pending else None
        try:
            ts = await services.slack.post_parent(request, approvers)
        except NotInChannel:
            age = (utcnow() - request.created_at).total_seconds()
            if age > NOT_IN_CHANNEL_GIVE_UP_SECONDS:
                target = State.EXPIRED if pending else State.CREATE_FAILED
                await move(
                    services,
                    request.id,
                    target,
                    request.state,
                    error_code=NOT_IN_CHANNEL,
                    error_msg="the bot was never invited to the channel",
                )
                await services.slack.tell_requester(request, notices.GaveUpNotInChannel())
                return Outcome.finished()
            if await services.store.set_once(request.id, "error_code", NOT_IN_CHANNEL):
                await services.slack.tell_requester(request, notices.InviteHint())
            return Outcome.later(NOT_IN_CHANNEL_RETRY_SECONDS)
        await services.store.set_once(request.id, "parent_ts", ts)
        if request.error_code == NOT_IN_CHANNEL:
            await services.store.update(request.id, error_code="")
        return None

    async def _announce_created(self, request: BackupRequest) -> None:
        if request.backup_id and not request.created_reply_ts:
            ts = await reply_once(self.services, request, ReplyKind.CREATED, "created_reply_ts")
            await self.services.store.set_once(request.id, "created_reply_ts", ts)

    async def _finish(self, request: BackupRequest) -> Outcome:
        services = self.services
        if not request.parent_ts:
            return Outcome.finished()  # refused before anything was posted; the requester was told
        await self._announce_created(request)
        request = await retention.plan_deletion(services, request)  # its reply says when it goes
        if not request.final_reply_ts:
            ts = await reply_once(services, request, ReplyKind.FINAL, "final_reply_ts")
            if await services.store.set_once(request.id, "final_reply_ts", ts):
                if action := _FINAL_AUDIT.get(request.state):
                    await services.record(audit_entry(request, action, detail=request.error_msg))
                if request.state is State.EXPIRED:
                    await services.slack.tell_requester(request, notices.RequestEnded())
                # The parent's last look in the next run, in the background: when many backups end
                # together, every waiting final reply goes before any parent's update.
                return Outcome.in_background()
        await services.slack.update_parent(request)
        if request.backup_id:
            await services.store.untrack(project_of(services, request), request.id)
        return Outcome.finished()
