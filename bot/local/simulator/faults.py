"""Injected misbehaviour: latency, hangs, random 5xx and 429 on reads, deterministic failure bursts,
outages of one project or region for a while, creates that are committed but never answered, and an
IAM that finds no project or two for a region.

The knobs (:mod:`bot.local.simulator.knobs`) are a pydantic model (set at start-up through the
config, changed at run time through ``POST /_sim/faults``); :class:`Faults` consumes them per request
and :func:`fault_middleware` applies them to every request that is not an admin (``/_sim/``) call.
Burst rules and outages may be scoped to a ``region`` or a ``project_id``; a scoped one only hits
``/v3/{project_id}/…`` calls of it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.local.simulator.apierror import ApiFailure
from bot.local.simulator.auth import path_project
from bot.local.simulator.knobs import FailRule, FaultKnobs, Outage, Where
from bot.local.simulator.notes import notes
from bot.local.simulator.state import STATE

__all__ = ["FAULTS", "FailRule", "FaultKnobs", "Faults", "Outage", "Where", "failure_for", "fault_middleware"]

ADMIN_PREFIX = "/_sim/"
CREATE_SUFFIX = "/backups/create"


def failure_for(status: int, *, code: str | None = None, retry_after: float | None = None) -> ApiFailure:
    """The error a gateway or backend would send with ``status``."""
    headers = {"Retry-After": _seconds(retry_after)} if retry_after is not None else {}
    if status == 429:
        message = "The throttling threshold has been reached: policy user over ratelimit,limit:10"
        return ApiFailure(429, code or "APIGW.0308", message, headers=headers)
    if status >= 500:
        return ApiFailure(status, code or "DBS.108000", "Simulated server failure.", headers=headers)
    return ApiFailure(status, code or "DBS.200001", "Simulated request failure.", headers=headers)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class Faults:
    """The live knobs plus their random source; counters are consumed as requests arrive.

    ``clock`` is the simulator's (epoch seconds), so an outage lasts as long as the state sees."""

    def __init__(self, knobs: FaultKnobs | None = None, clock: Callable[[], float] = time.time) -> None:
        self.knobs = FaultKnobs()
        self._random = random.Random()
        self._clock = clock
        self.replace(knobs or FaultKnobs())

    def replace(self, knobs: FaultKnobs) -> None:
        self.knobs = knobs.model_copy(deep=True)
        self._random = random.Random(self.knobs.seed)
        self._arm()

    def _arm(self) -> None:
        now = self._clock()
        for outage in self.knobs.outages:
            if outage.until is None:
                outage.until = now + outage.seconds

    def update(self, changes: dict[str, Any]) -> FaultKnobs:
        """Apply a partial update (validated); a new ``hang_ms`` re-arms one hang unless counted."""
        merged = self.knobs.model_dump() | changes
        if "hang_ms" in changes and "hang_count" not in changes:
            merged["hang_count"] = 1
        knobs = FaultKnobs.model_validate(merged)
        if "seed" in changes:
            self.replace(knobs)
        else:
            self.knobs = knobs
            self._arm()
        return self.knobs

    def take_hang(self, path: str) -> float:
        """Seconds to stall this request (0 when no hang is armed)."""
        knobs = self.knobs
        if knobs.hang_ms <= 0 or knobs.hang_count <= 0 or knobs.hang_path_contains not in path:
            return 0.0
        knobs.hang_count -= 1
        return knobs.hang_ms / 1000

    def take_failure(
        self, method: str, path: str, project: tuple[str | None, str | None] = (None, None)
    ) -> ApiFailure | None:
        """An outage or a burst rule first, then random throttling, then random server errors (reads
        only). ``project`` is the (project ID, region) of the path."""
        knobs = self.knobs
        now = self._clock()
        knobs.outages = [o for o in knobs.outages if o.until is None or o.until > now]
        for outage in knobs.outages:
            if outage.matches(method, path, project):
                return failure_for(outage.status, code=outage.error_code, retry_after=outage.retry_after)
        for rule in knobs.fail_next:
            if rule.matches(method, path, project):
                rule.count -= 1
                if rule.count == 0:
                    knobs.fail_next.remove(rule)
                return failure_for(rule.status, code=rule.error_code, retry_after=rule.retry_after)
        if method.upper() != "GET":
            return None
        if knobs.throttle_rate and self._random.random() < knobs.throttle_rate:
            return failure_for(429, retry_after=knobs.retry_after)
        if knobs.error_rate and self._random.random() < knobs.error_rate:
            return failure_for(knobs.error_status)
        return None

    def take_drop(self) -> bool:
        if self.knobs.drop_after_create <= 0:
            return False
        self.knobs.drop_after_create -= 1
        return True


FAULTS = web.AppKey("faults", Faults)


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    faults = request.app[FAULTS]
    if hang := faults.take_hang(request.path):
        await asyncio.sleep(hang)
    if faults.knobs.latency_ms:
        await asyncio.sleep(faults.knobs.latency_ms / 1000)
    project = path_project(request.app[STATE], request.path)
    if failure := faults.take_failure(request.method, request.path, project):
        raise failure
    response = await handler(request)
    if (
        request.method == "POST"
        and request.path.endswith(CREATE_SUFFIX)
        and response.status == 201
        and faults.take_drop()
    ):
        # The backup is committed; the client only sees the connection close after it sent the body.
        notes().dropped = True
        if request.transport is not None:
            request.transport.close()
    return response
