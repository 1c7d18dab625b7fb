"""Who the fake workspace is: the bot's, app's and team's IDs, and the IDs the fake derives from names."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

BOT_USER_ID = "UBOT"
BOT_ID = "B1"
TEAM_ID = "T1"
APP_ID = "A1"
TEAM_DOMAIN = "fake-workspace"
DEFAULT_LOCALE = "en-US"
DEFAULT_TZ = "Etc/UTC"
VERIFICATION_TOKEN = "fake-verification-token"  # the deprecated token Slack still puts in payloads

# Like Slack: a trigger_id can open one view, within three seconds of being issued (our fake's IDs
# carry their issue time in milliseconds, so views.open can refuse a late one).
TRIGGER_TTL_SECONDS = 3.0

USER_ID_RE = re.compile(r"^[UW][A-Z0-9]+$")
"""What a user ID looks like (``W…`` in Enterprise Grid)."""


def usergroup_id(handle: str) -> str:
    """The stable fake ID (``S…``) of a user group handle."""
    return _stable("S", handle)


def _stable(prefix: str, key: str) -> str:
    return prefix + hashlib.sha256(key.encode()).hexdigest()[:10].upper()


def dm_channel_id(user_id: str) -> str:
    """The stable ID (``D…``) of the bot's direct message with ``user_id``."""
    return _stable("D", user_id)


def group_dm_id(user_ids: Iterable[str]) -> str:
    """The stable ID (``G…``) of the bot's group DM with these people, whatever their order."""
    return _stable("G", ",".join(sorted(set(user_ids))))
