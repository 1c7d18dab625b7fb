"""What the fake was asked: every call in arrival order, listeners that see each one, and waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Call:
    """One request the fake received. ``status``/``error`` say how it was answered."""

    method: str
    args: dict[str, Any]
    at: float
    token: str | None = None
    status: int = 200
    error: str | None = None
    path: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


CallPredicate = Callable[[Call], bool]


class CallLog:
    """The calls, in order: what :class:`~bot.local.fake_slack.FakeSlack` answers questions about.

    :meth:`_record` tells the listeners and wakes :meth:`wait_for`.
    """

    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._changed = asyncio.Condition()
        self._listeners: list[Callable[[Call], None]] = []

    def calls(self, method: str | None = None) -> list[Call]:
        """Calls in arrival order; only those of ``method`` when given (``"response_url"`` included)."""
        return [c for c in self._calls if method is None or c.method == method]

    def clear_calls(self) -> None:
        self._calls.clear()

    def add_listener(self, listener: Callable[[Call], None]) -> None:
        """Call ``listener`` with every recorded call (e.g. the shell mode printing bot messages)."""
        self._listeners.append(listener)

    async def _record(self, call: Call) -> None:
        self._calls.append(call)
        for listener in self._listeners:
            listener(call)
        async with self._changed:
            self._changed.notify_all()

    # A test helper whose deadline is the point of the call, hence the timeout parameter.
    async def wait_for(
        self,
        what: str | CallPredicate,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[Call]:
        """Wait until at least ``count`` calls match (a method name or a predicate); return them all.

        Raises ``TimeoutError`` naming what was recorded instead.
        """
        match: CallPredicate = (lambda c: c.method == what) if isinstance(what, str) else what

        def found() -> list[Call]:
            return [c for c in self._calls if match(c)]

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(found()) >= count), timeout)
            except TimeoutError:
                seen = ", ".join(c.method for c in self._calls) or "nothing"
                raise TimeoutError(
                    f"waited {timeout} s for {count} call(s) of {what!r}, got {len(found())}; "
                    f"recorded: {seen}"
                ) from None
        return found()
