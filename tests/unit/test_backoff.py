"""The one backoff shape: exponential, capped, with the requested share of jitter."""

from __future__ import annotations

import pytest

from bot.domain.backoff import backoff


def test_the_ceiling_doubles_until_the_cap() -> None:
    assert [backoff(n, base=1.0, cap=10.0, jitter=0.0) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert backoff(0, base=3.0, jitter=0.0) == 3.0  # attempt 0 waits like attempt 1
    assert backoff(10**9, base=1.0, cap=5.0, jitter=0.0) == 5.0  # no overflow


@pytest.mark.parametrize("jitter", [0.0, 0.25, 0.5, 1.0])
def test_jitter_is_the_random_share_of_the_ceiling(jitter: float) -> None:
    ceiling = 8.0
    low = backoff(4, base=1.0, cap=100.0, jitter=jitter, rand=lambda: 0.0)
    high = backoff(4, base=1.0, cap=100.0, jitter=jitter, rand=lambda: 1.0)
    assert low == pytest.approx(ceiling * (1 - jitter)) and high == pytest.approx(ceiling)


def test_real_randomness_spreads_waits() -> None:
    waits = {backoff(6, base=1.0, jitter=1.0) for _ in range(50)}
    assert len(waits) > 40 and all(0 <= w <= 32 for w in waits)


@pytest.mark.parametrize("bad", [{"jitter": 1.5}, {"jitter": -0.1}, {"base": -1.0}, {"cap": float("inf")}])
def test_nonsense_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        backoff(1, **bad)
