"""Paging through a list call (:func:`bot.cloud.queries.walk`): one page at a time, or several at a
time after the first, each item once and the listing read to its end, also when it changes
underneath (a backup created or gone mid-walk) or the service hands out shorter pages than asked."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from bot.cloud.queries import walk


@dataclass(frozen=True)
class Item:
    id: str


@dataclass
class Listing:
    """A list endpoint over ``items`` (newest first), ``limit`` per page at most. ``after_first`` runs
    once, when the first page has been answered: the listing changing under the walk."""

    items: list[Item]
    limit: int = 100
    after_first: list[Item] = field(default_factory=list)  # put in front once page 1 is answered
    drop_after_first: int = 0  # items taken off the front once page 1 is answered
    asked: list[int] = field(default_factory=list)
    pending: int = 0
    most_pending: int = 0

    async def page(self, offset: int) -> tuple[list[Item], int]:
        self.asked.append(offset)
        self.pending += 1
        self.most_pending = max(self.most_pending, self.pending)
        await asyncio.sleep(0)  # the answer comes later: pages asked together overlap
        self.pending -= 1
        got = self.items[offset : offset + self.limit]
        total = len(self.items)
        if len(self.asked) == 1:
            self.items = self.after_first + self.items[self.drop_after_first :]
        return got, total


def _items(n: int) -> list[Item]:
    return [Item(f"b{i:04d}") for i in range(n)]


async def _walked(listing: Listing, at_once: int) -> list[str]:
    return [item.id async for item in walk(listing.page, at_once=at_once)]


@pytest.mark.parametrize("n", [0, 1, 99, 100, 101, 250, 1000])
@pytest.mark.parametrize("at_once", [1, 4])
async def test_a_steady_listing_is_read_once_in_order_with_one_call_per_page(n: int, at_once: int) -> None:
    listing = Listing(_items(n))
    assert await _walked(listing, at_once) == [i.id for i in _items(n)]
    assert sorted(listing.asked) == [100 * k for k in range(max(1, -(-n // 100)))]


async def test_after_the_first_page_up_to_at_once_pages_are_asked_for_together() -> None:
    one_by_one, together = Listing(_items(1000)), Listing(_items(1000))
    await _walked(one_by_one, 1)
    await _walked(together, 4)
    assert one_by_one.most_pending == 1
    assert together.most_pending == 4
    assert together.asked[:5] == [0, 100, 200, 300, 400]


async def test_the_walk_follows_the_page_length_the_service_gives() -> None:
    listing = Listing(_items(230), limit=50)  # asked for 100 a page, given 50
    assert await _walked(listing, 4) == [i.id for i in _items(230)]
    assert sorted(listing.asked) == [0, 50, 100, 150, 200]


@pytest.mark.parametrize("at_once", [1, 4])
async def test_a_listing_that_grows_mid_walk_is_read_to_its_new_end_each_item_once(at_once: int) -> None:
    old = _items(350)
    new = [Item(f"new{i}") for i in range(130)]  # more than a page: one more round is needed
    listing = Listing(list(old), after_first=new)
    walked = await _walked(listing, at_once)
    assert len(walked) == len(set(walked))  # shifted pages repeat items: each is yielded once
    assert {i.id for i in old} <= set(walked)  # every backup there from the start is seen


@pytest.mark.parametrize("at_once", [1, 4])
async def test_a_listing_that_shrinks_mid_walk_ends_without_asking_past_its_end(at_once: int) -> None:
    listing = Listing(_items(350), drop_after_first=120)
    walked = await _walked(listing, at_once)
    assert len(walked) == len(set(walked))
    assert walked[:100] == [i.id for i in _items(100)]
    assert max(listing.asked) < 350


async def test_at_once_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="at_once"):
        await _walked(Listing(_items(3)), 0)
