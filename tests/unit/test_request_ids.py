"""Request IDs: ``r-`` + 10 characters of the bot's base32 alphabet, every character possible."""

from __future__ import annotations

import re
from collections import Counter

from bot.domain.request import BackupRequest, new_request_id

ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no l, o, 0, 1: easy to read back


def test_ids_have_the_documented_shape() -> None:
    shape = re.compile(rf"^r-[{ALPHABET}]{{10}}$")
    for _ in range(2000):
        assert shape.match(new_request_id())


def test_every_character_of_the_alphabet_turns_up_and_ids_do_not_repeat() -> None:
    ids = [new_request_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    seen = Counter(c for rid in ids for c in rid[2:])
    assert set(seen) == set(ALPHABET)
    # 50,000 characters over 32: about 1,560 each; a biased mapping would leave some far behind.
    assert min(seen.values()) > 1200


def test_a_new_request_gets_one() -> None:
    assert re.match(
        rf"^r-[{ALPHABET}]{{10}}$",
        BackupRequest(channel_id="C1", user_id="U1", instance_ref="i", backup_name="b").id,
    )
