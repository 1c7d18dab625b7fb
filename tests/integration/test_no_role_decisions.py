"""Who is told about a request when they act on it, against a real Redis: someone with no role in
the policy is refused before anything about the request is read, the same way whether it exists or
not, while an approver a rule names, who need hold no role, still decides the requests they
approve."""

from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.app import decisions, retention
from bot.app.services import Services
from bot.config import load_settings
from bot.domain.audit import AuditAction
from bot.domain.lifetimes import Keep
from bot.domain.policy_file import parse_policy
from bot.domain.request import BackupRequest, State

POLICY = """
roles:
  requester: ["U0REQ"]
  approver: ["U0BOSS"]
approval:
  rules:
    - match: ["*prod*"]
      approvers: ["U0RULE"]
guests: allow
"""


@pytest.fixture
async def services(redis: aioredis.Redis) -> Services:
    return Services.assemble(load_settings(), redis, parse_policy(POLICY, "policy.yaml"))


async def _pending(services: Services, **fields: Any) -> BackupRequest:
    now = await services.clock.now()
    asked: dict[str, Any] = {
        "channel_id": "C1",
        "user_id": "U0REQ",
        "instance_ref": "orders-prod",
        "instance_id": "a" * 32 + "in07",
        "instance_name": "orders-prod",
        "backup_name": "asked",
        "role": "requester",
        "parent_ts": "1.1",
        "state": State.PENDING_APPROVAL,
        "approvers": ["U0RULE"],
        "gate_rule": 0,
        "deadline": now + 600,
    }
    request = BackupRequest(**{**asked, **fields})
    await services.store.create(request)
    return request


async def test_no_role_is_refused_alike_whatever_the_request(services: Services) -> None:
    pending = await _pending(services)
    ended = await _pending(services, backup_name="ended")
    assert (await decisions.cancel(services, ended.id, "U0REQ")).refusal is None
    told = [
        (await decisions.cancel(services, ref, "U0NOBODY", ask_slack=False)).refusal
        for ref in (pending.id, ended.id, "r-aaaaaaaaaa")
    ]
    told += [(await decisions.decide(services, pending.id, "U0NOBODY", approve=True)).refusal]
    told += [(await decisions.check(services, ended.id, "U0NOBODY")).refusal]
    assert {type(refusal) for refusal in told} == {decisions.NoRole}, told
    kept = [await retention.keep(services, ref, "U0NOBODY", Keep(86400.0)) for ref in (ended.id, "r-x")]
    assert [k.reason for k in kept if isinstance(k, retention.NotKept)] == ["no_role", "no_role"]
    assert (await services.store.get(pending.id)) == pending
    refusals = [e for e in await services.audit_log.latest(50) if e.actor == "U0NOBODY"]
    assert [e.action for e in refusals] == [AuditAction.REFUSED] * (len(told) + len(kept))


async def test_a_rule_approver_without_a_role_still_decides_what_they_approve(services: Services) -> None:
    to_cancel, to_approve = await _pending(services), await _pending(services, backup_name="approved")
    assert (await decisions.cancel(services, to_cancel.id, "U0RULE", ask_slack=False)).refusal is None
    assert (await decisions.decide(services, to_approve.id, "U0RULE", approve=True)).refusal is None
    states = [(await services.store.get(r.id)) for r in (to_cancel, to_approve)]
    assert [s.state if s else None for s in states] == [State.CANCELLED, State.APPROVED]
    # ...and is told no more than anyone without a role about a request they do not approve.
    missing = await decisions.cancel(services, "r-aaaaaaaaaa", "U0RULE")
    assert isinstance(missing.refusal, decisions.NoRole), missing
