"""Who the fake workspace is: the bot's, app's and team's IDs, and the IDs the fake derives from names."""

from __future__ import annotations

import hashlib

BOT_USER_ID = "UBOT"
BOT_ID = "B1"
TEAM_ID = "T1"
APP_ID = "A1"
TEAM_DOMAIN = "fake-workspace"
DEFAULT_LOCALE = "en-US"
DEFAULT_TZ = "Etc/UTC"

# Like Slack: a trigger_id can open one view, within three seconds of being issued (our fake's IDs
# carry their issue time in milliseconds, so views.open can refuse a late one).
TRIGGER_TTL_SECONDS = 3.0


def usergroup_id(handle: str) -> str:
    """The stable fake ID (``S…``) of a user group handle."""
    return "S" + hashlib.sha256(handle.encode()).hexdigest()[:10].upper()
