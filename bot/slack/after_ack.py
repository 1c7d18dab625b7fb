"""Answering Slack the moment a listener calls ``ack()``, and keeping what the listener does after it.

Bolt's default listener runner (``process_before_response=False``) starts the listener as a task and
then looks every 10 ms whether ``ack()`` was called: an answer waits up to 10 ms for the next look,
and under a burst every waiting request's looks are timers the event loop keeps turning. The task is
not kept anywhere either, so work after the ack is lost without a word when the process stops.

The bot runs Bolt with ``process_before_response=True`` (Bolt awaits the listener and answers with
what ``ack()`` set) and registers every listener through :meth:`AfterAck.listener`, which starts the
listener as a task of its own and returns as soon as ``ack()`` was called or the listener ended. So
Slack has its answer at once, and the rest of the listener (a modal opened, a reply sent through the
response URL) runs on in a task held here, logged when it fails, and waited for at shutdown
(:meth:`AfterAck.drain`). A listener that takes no ``ack`` (an event: Bolt acknowledges it when the
wrapper returns) runs entirely in such a task.

A listener that fails before its ``ack()`` fails as before: the error reaches Bolt, which answers
500 and logs it. One that fails after has already been answered; its error is logged here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

log = logging.getLogger("bot.slack")

Listener = TypeVar("Listener", bound=Callable[..., Awaitable[None]])


class AfterAck:
    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> int:
        """How many listeners are still at work after their answer."""
        return len(self._running)

    def listener(self, body: Listener) -> Listener:
        """``body`` as Bolt should run it: answered at its ``ack()``, the rest held here. Bolt reads
        which arguments to pass from ``body`` itself (``functools.wraps`` keeps it reachable)."""

        @functools.wraps(body)
        async def answered_at_ack(**kwargs: Any) -> None:
            ack = kwargs.get("ack")
            if ack is None:
                self._hold(asyncio.ensure_future(body(**kwargs)), body.__name__, None)
                return
            answered = asyncio.get_running_loop().create_future()

            def answer(*_: Any) -> None:  # at the ack, or when the listener ends without one
                if not answered.done():
                    answered.set_result(None)

            async def ack_and_answer(*args: Any, **options: Any) -> Any:
                try:
                    return await ack(*args, **options)
                finally:
                    answer()

            kwargs["ack"] = ack_and_answer
            task: asyncio.Task[None] = asyncio.ensure_future(body(**kwargs))
            task.add_done_callback(answer)
            # held from the start: a shutdown that cancels this wait (the HTTP request) still drains it
            self._hold(task, body.__name__, ack)
            await answered
            if task.done() and ack.response is None:
                task.result()  # ended before any ack: its error (if any) is Bolt's to answer

        return answered_at_ack  # type: ignore[return-value]

    def _hold(self, task: asyncio.Task[None], name: str, ack: Any) -> None:
        self._running.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._running.discard(done)
            _report(done, name, ack)

        task.add_done_callback(finished)

    async def drain(self, within: float) -> None:
        """Wait up to ``within`` seconds for the listeners still at work, then cancel the rest."""
        if not self._running:
            return
        pending = set(self._running)
        _, late = await asyncio.wait(pending, timeout=within)
        for task in late:
            task.cancel()
        if late:
            log.warning("stopped %d listener(s) still at work after their answer", len(late))
            await asyncio.gather(*late, return_exceptions=True)


def _report(task: asyncio.Task[None], name: str, ack: Any) -> None:
    """Log the error a listener ended with after its answer (one before its ``ack()`` is Bolt's)."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None and (ack is None or ack.response is not None):
        log.error("listener %s failed after its answer", name, exc_info=error)
