"""What a handler decided about its work, for the runner to settle with the :mod:`scheduler
<bot.store.scheduler>`: finished, again later (maybe in the background), or given up on."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


def checked_seconds(name: str, value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


class TryLater(Exception):
    """A handler cannot go on before ``retry_in`` seconds for a reason that is nobody's failure (a
    rate limit): the runner hands the work back for then, and the try does not count as failed."""

    def __init__(self, reason: str, retry_in: float) -> None:
        super().__init__(reason)
        self.retry_in = retry_in


@dataclass(frozen=True)
class Outcome:
    """What a handler decided: finished (forget the work) or run again later, maybe with a new payload.

    ``background``: the next run waits, once due, until no other work is due (see
    :meth:`Scheduler.retry <bot.store.scheduler.Scheduler.retry>`): what is left is worth less than
    any other work's next step."""

    done: bool = True
    retry_in: float | None = None
    payload: dict[str, Any] | None = None
    failed: bool = False  # set by the runner when the handler raised or timed out: attempts keep counting
    parked: str = ""  # why the work is given up on for good (the runner parks it)
    background: bool = False

    def __post_init__(self) -> None:
        if self.done and (self.retry_in is not None or self.payload is not None or self.background):
            raise ValueError("a finished outcome takes no retry_in, payload or background")
        if self.parked and not self.done:
            raise ValueError("parked work is done with: it takes no retry")
        if not self.done:
            if self.retry_in is None:
                raise ValueError("an outcome that is not done needs retry_in")
            checked_seconds("retry_in", self.retry_in)

    @classmethod
    def finished(cls) -> Outcome:
        return cls()

    @classmethod
    def later(cls, seconds: float, payload: dict[str, Any] | None = None) -> Outcome:
        return cls(done=False, retry_in=seconds, payload=payload)

    @classmethod
    def in_background(cls) -> Outcome:
        """Run again as soon as no other work is due."""
        return cls(done=False, retry_in=0.0, background=True)

    @classmethod
    def give_up(cls, reason: str) -> Outcome:
        return cls(failed=True, parked=reason)
