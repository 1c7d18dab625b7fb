"""A fake Slack Web API over real HTTP, for end-to-end tests and the local shell mode.

:class:`FakeSlack` (:mod:`.server`) is an aiohttp server answering ``/api/{method}`` the way Slack
does (form, JSON or query arguments; ``ok``/``error`` bodies; HTTP 429 with ``Retry-After``) and
recording every call in order (:mod:`.recording`). Point ``AsyncWebClient(base_url=fake.url)`` at
it. :class:`Knobs` (:mod:`.knobs`), settable from Python or over HTTP (``POST /_fake/knobs``), make
it look and refuse like Slack: who is a guest and who is in which channel, which workspace or org
it is, ``not_in_channel`` until the bot joins (or a join that leaves it out), Slack's rate limits
(:mod:`.limits`), server errors, and any error code or an answer that is not JSON for the next calls
of a method. The methods themselves live by area: :mod:`.chat`, :mod:`.views` (modals and each
person's Home), :mod:`.users`, :mod:`.conversations`, over the state in :mod:`.workspace`.

:mod:`.bodies` builds what Slack sends *to* the bot: :func:`slash_command_body`,
:func:`interaction_body`, :func:`home_block_actions`, :func:`app_home_opened_body` and the
signature headers of :func:`sign_request`.
"""

from __future__ import annotations

from bot.local.fake_slack.bodies import (
    app_home_opened_body,
    app_home_opened_event,
    event_envelope,
    home_block_actions,
    interaction_body,
    interaction_envelope,
    new_trigger_id,
    sign_request,
    slash_command_body,
)
from bot.local.fake_slack.identity import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_LOCALE,
    DEFAULT_TZ,
    TEAM_DOMAIN,
    TEAM_ID,
    TRIGGER_TTL_SECONDS,
    VERIFICATION_TOKEN,
    dm_channel_id,
    group_dm_id,
    usergroup_id,
)
from bot.local.fake_slack.knobs import GUEST_KINDS, Knobs
from bot.local.fake_slack.limits import SLACK_TIERS, TIER_PER_MINUTE, slack_tier_limits
from bot.local.fake_slack.recording import Call, CallPredicate
from bot.local.fake_slack.server import FakeSlack
from bot.local.fake_slack.workspace import Answer

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_LOCALE",
    "DEFAULT_TZ",
    "GUEST_KINDS",
    "SLACK_TIERS",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "TIER_PER_MINUTE",
    "TRIGGER_TTL_SECONDS",
    "VERIFICATION_TOKEN",
    "Answer",
    "Call",
    "CallPredicate",
    "FakeSlack",
    "Knobs",
    "app_home_opened_body",
    "app_home_opened_event",
    "dm_channel_id",
    "event_envelope",
    "group_dm_id",
    "home_block_actions",
    "interaction_body",
    "interaction_envelope",
    "new_trigger_id",
    "sign_request",
    "slack_tier_limits",
    "slash_command_body",
    "usergroup_id",
]
