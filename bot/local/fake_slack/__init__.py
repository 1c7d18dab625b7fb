"""A fake Slack Web API over real HTTP, for end-to-end tests and the local shell mode.

:class:`FakeSlack` (:mod:`.server`) is an aiohttp server answering ``/api/{method}`` the way Slack
does (form, JSON or query arguments; ``ok``/``error`` bodies; HTTP 429 with ``Retry-After``) and
recording every call in order (:mod:`.recording`). Point ``AsyncWebClient(base_url=fake.url)`` at
it. :class:`Knobs` (:mod:`.knobs`), settable from Python or over HTTP (``POST /_fake/knobs``), make
it refuse like Slack: ``not_in_channel`` until the bot joins, rate limits, server errors and any
error code for the next calls of a method. The methods themselves live by area: :mod:`.chat`,
:mod:`.views`, :mod:`.users`, :mod:`.conversations`, over the state in :mod:`.workspace`.

:mod:`.bodies` builds what Slack sends *to* the bot: :func:`slash_command_body`,
:func:`interaction_body` and the signature headers of :func:`sign_request`.
"""

from __future__ import annotations

from bot.local.fake_slack.bodies import interaction_body, new_trigger_id, sign_request, slash_command_body
from bot.local.fake_slack.identity import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_LOCALE,
    DEFAULT_TZ,
    TEAM_DOMAIN,
    TEAM_ID,
    TRIGGER_TTL_SECONDS,
    usergroup_id,
)
from bot.local.fake_slack.knobs import Knobs
from bot.local.fake_slack.recording import Call, CallPredicate
from bot.local.fake_slack.server import FakeSlack
from bot.local.fake_slack.workspace import Answer

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_LOCALE",
    "DEFAULT_TZ",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "TRIGGER_TTL_SECONDS",
    "Answer",
    "Call",
    "CallPredicate",
    "FakeSlack",
    "Knobs",
    "interaction_body",
    "new_trigger_id",
    "sign_request",
    "slash_command_body",
    "usergroup_id",
]
