"""How Slack names people and conversations: the one definition of a user ID and a channel ID."""

from __future__ import annotations

import re

# U… for users, W… for Enterprise Grid users. Real IDs are 9–11 characters; shorter ones appear in
# tests and fakes, so only the policy file (where a short one is a typo) asks for more.
USER_ID_RE = re.compile(r"[UW][A-Z0-9]{1,20}")
# C… public channels, G… private channels and group DMs, D… direct messages.
CHANNEL_ID_RE = re.compile(r"[CGD][A-Z0-9]{1,20}")


def is_user_id(value: str, *, min_length: int = 2) -> bool:
    return len(value) >= min_length and USER_ID_RE.fullmatch(value) is not None


def is_channel_id(value: str) -> bool:
    return CHANNEL_ID_RE.fullmatch(value) is not None
