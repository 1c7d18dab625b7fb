"""How long the web process may take before it answers Slack, and until when a script it sends may
still record anything (Redis's own clock: :class:`~bot.store.clock.RedisClock`).

Slack gives three seconds. Every listener bounds its Redis work by :data:`WEB_BUDGET` and answers
"temporarily unavailable, nothing was recorded" when it runs out; every script that records gets a
deadline :data:`RECORD_WINDOW` from now, well inside the budget, and records nothing if Redis only
gets to it later — so what the answer says is true even when Redis was merely stalled.
"""

from __future__ import annotations

from redis.exceptions import RedisError

from bot.app.services import Services
from bot.store.intake import TooLate

WEB_BUDGET = 2.5
RECORD_WINDOW = 1.0

UNAVAILABLE = (TimeoutError, RedisError, OSError, TooLate)
"""What the web path answers with "temporarily unavailable, nothing was recorded"."""


def record_deadline(services: Services) -> float:
    return services.clock.deadline(RECORD_WINDOW)
