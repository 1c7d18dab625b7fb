"""A state change that hands the request on (a planned start, an expiry, a decision) schedules the
request's next step in the same atomic step, against a real Redis: a call that fails after the move
can no longer leave the request in its new state with nothing scheduled to move it on (a retry of
the work sees the new state and ends, and a click is not made again, so nothing else ever would)."""

from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.app import decisions, planned
from bot.app.lifecycle import RequestFlow
from bot.app.services import Services
from bot.app.work import AdvanceRequest, ExpireRequest, StartRequest
from bot.config import load_settings
from bot.domain.policy import Policy
from bot.domain.request import BackupRequest, State


@pytest.fixture
async def services(redis: aioredis.Redis) -> Services:
    built = Services.assemble(load_settings(), redis, Policy.open_default())
    real = built.scheduler.schedule

    async def refused_for_requests(key: str, payload: Any, **options: Any) -> Any:
        # A Redis blip on any separate call that schedules the request's own work.
        if key.startswith("req:"):
            raise RedisConnectionError("connection reset (injected)")
        return await real(key, payload, **options)

    built.scheduler.schedule = refused_for_requests  # type: ignore[method-assign]
    return built


async def _stored(services: Services, state: State, **fields: Any) -> BackupRequest:
    request = BackupRequest(
        channel_id="C1",
        user_id="U1",
        instance_ref="orders-dev",
        instance_id="a" * 32 + "in07",
        instance_name="orders-dev",
        backup_name="moved-on",
        role="requester",
        parent_ts="1.1",
        state=state,
        **fields,
    )
    await services.store.create(request)
    return request


async def _advance_scheduled(services: Services, request_id: str) -> bool:
    return await services.scheduler.is_scheduled(str(AdvanceRequest(request_id=request_id).key))


async def test_a_planned_start_moves_and_schedules_the_request_in_one_step(services: Services) -> None:
    now = await services.clock.now()
    request = await _stored(services, State.SCHEDULED, start_at=now - 0.5)
    await planned.start(services, StartRequest(request_id=request.id))
    moved = await services.store.get(request.id)
    assert moved is not None and moved.state is State.CREATING
    assert await _advance_scheduled(services, request.id)
    # Its retry (or a duplicate) changes nothing and schedules nothing more.
    pending = await services.scheduler.pending()
    assert (await planned.start(services, StartRequest(request_id=request.id))).done
    assert await services.scheduler.pending() == pending
    again = await services.store.get(request.id)
    assert again is not None and again.state is State.CREATING


async def test_an_expiry_moves_and_schedules_the_request_in_one_step(services: Services) -> None:
    request = await _stored(services, State.PENDING_APPROVAL)
    await RequestFlow(services).expire(ExpireRequest(request_id=request.id))
    expired = await services.store.get(request.id)
    assert expired is not None and expired.state is State.EXPIRED
    assert await _advance_scheduled(services, request.id)
    actions = [entry.action.value for entry in await services.audit_log.for_request(request.id)]
    assert actions == ["expired"]
    # A second expiry (a retry) records nothing more.
    await RequestFlow(services).expire(ExpireRequest(request_id=request.id))
    assert [entry.action.value for entry in await services.audit_log.for_request(request.id)] == ["expired"]


async def test_a_decision_that_came_first_wins_over_the_expiry(services: Services) -> None:
    request = await _stored(services, State.APPROVED)
    await RequestFlow(services).expire(ExpireRequest(request_id=request.id))
    kept = await services.store.get(request.id)
    assert kept is not None and kept.state is State.APPROVED
    assert not await _advance_scheduled(services, request.id)
    assert await services.audit_log.for_request(request.id) == []


@pytest.mark.parametrize(
    ("who", "approve", "state"),
    [("U2", True, State.APPROVED), ("U2", False, State.REJECTED), ("U1", None, State.CANCELLED)],
)
async def test_a_decision_schedules_the_request_in_its_own_step(
    services: Services, who: str, approve: bool | None, state: State
) -> None:
    now = await services.clock.now()
    request = await _stored(
        services, State.PENDING_APPROVAL, approvers=["U2"], approvals_needed=1, deadline=now + 600
    )
    if approve is None:
        decision = await decisions.cancel(services, request.id, who)
    else:
        decision = await decisions.decide(services, request.id, who, approve=approve, reason="no")
    assert decision.refusal is None, decision.refusal
    decided = await services.store.get(request.id)
    assert decided is not None and decided.state is state
    assert await _advance_scheduled(services, request.id)


async def test_a_late_click_expires_the_request_and_schedules_it_in_the_same_step(services: Services) -> None:
    now = await services.clock.now()
    request = await _stored(services, State.PENDING_APPROVAL, approvers=["U2"], deadline=now - 1)
    await decisions.decide(services, request.id, "U2", approve=True)
    expired = await services.store.get(request.id)
    assert expired is not None and expired.state is State.EXPIRED
    assert await _advance_scheduled(services, request.id)


async def test_an_approval_that_is_not_the_last_schedules_nothing(services: Services) -> None:
    now = await services.clock.now()
    request = await _stored(
        services, State.PENDING_APPROVAL, approvers=["U2", "U3"], approvals_needed=2, deadline=now + 600
    )
    decision = await decisions.decide(services, request.id, "U2", approve=True)
    assert decision.recorded
    assert not await _advance_scheduled(services, request.id)
