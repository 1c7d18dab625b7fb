"""The one backoff shape every retry in the bot uses: exponential, capped, with jitter.

``backoff(n)`` is the wait after the ``n``-th failed try (1-based): the ceiling
``min(cap, base * 2**(n-1))``, of which the fraction ``jitter`` is random. ``jitter=1`` is "full
jitter" (anything from 0 to the ceiling: best at spreading many clients that failed together),
``jitter=0.5`` "equal jitter" (never less than half the ceiling: a retry is never immediate), and
``jitter=0`` a plain exponential. Pure: the random source is a parameter.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable


def backoff(
    attempt: int,
    *,
    base: float = 1.0,
    cap: float = 300.0,
    jitter: float = 0.5,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after the ``attempt``-th failure (see the module docstring)."""
    if not 0.0 <= jitter <= 1.0:
        raise ValueError(f"jitter must be between 0 and 1, got {jitter!r}")
    if base < 0 or cap < 0 or not (math.isfinite(base) and math.isfinite(cap)):
        raise ValueError("base and cap must be finite and not negative")
    ceiling = min(cap, base * 2.0 ** min(max(attempt - 1, 0), 64))
    return ceiling * (1.0 - jitter) + rand() * ceiling * jitter
