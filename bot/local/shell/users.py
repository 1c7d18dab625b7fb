"""The shell's demo workspace: its people, their roles under the demo policy, and the one channel.

The roles here describe ``demo-policy.yaml`` (which names these users by ID); a unit test keeps the
two in agreement. The shell starts as the operator, and switching users (``:as carol``) is how the
approval flow is tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.local.fake_slack import BOT_USER_ID, Knobs, dm_channel_id

DEMO_POLICY = Path(__file__).with_name("demo-policy.yaml")
CHANNEL_ID = "C0BACKUPS"
CHANNEL_NAME = "backups"
BOT_NAME = "backup-bot"


@dataclass(frozen=True, slots=True)
class DemoUser:
    name: str
    id: str
    role: str
    """``requester``, ``operator``, ``approver`` or ``""`` (no role)."""
    may: str
    """What the role allows, in a few words."""


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("alice", "U0ALICE01", "requester", "may ask; every backup she asks for needs an approval"),
    DemoUser("oscar", "U0OSCAR01", "operator", "creates directly, except on *prod* instances"),
    DemoUser("carol", "U0CAROL01", "approver", "approves or rejects others' requests; creates directly"),
    DemoUser("eve", "U0EVE0001", "", "holds no role: she is refused"),
)
DEFAULT_USER = DEMO_USERS[1]  # the operator


def find_user(ref: str) -> DemoUser | None:
    """A demo user by name (any case, an optional leading ``@``) or by user ID."""
    wanted = ref.strip().removeprefix("@").lower()
    return next((u for u in DEMO_USERS if wanted in (u.name, u.id.lower())), None)


def user_names() -> dict[str, str]:
    """User ID → display name, for rendering mentions; the bot included."""
    return {BOT_USER_ID: BOT_NAME, **{u.id: u.name for u in DEMO_USERS}}


def channel_names() -> dict[str, str]:
    """Channel ID → name; the bot's DM with each demo user is named after them."""
    return {CHANNEL_ID: CHANNEL_NAME, **{dm_channel_id(u.id): u.name for u in DEMO_USERS}}


def people_by_name() -> dict[str, str]:
    """Display name → user ID, for what the reader types into a people picker."""
    return {u.name: u.id for u in DEMO_USERS}


def channels_by_name() -> dict[str, str]:
    """Channel name → ID, for what the reader types into a conversation picker."""
    return {CHANNEL_NAME: CHANNEL_ID}


def demo_knobs() -> Knobs:
    """The fake Slack's demo workspace: every demo user is in #backups (a channel picked in a form
    is used only if the requester is in it, and the fake lists nobody in a channel it was not told of)."""
    return Knobs(channel_members={CHANNEL_ID: [u.id for u in DEMO_USERS]})
