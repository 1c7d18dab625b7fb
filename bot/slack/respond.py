"""The one way the bot answers through an interaction's ``response_url``: private (ephemeral), never
replacing the message the interaction came from, over one shared HTTP session.

A response URL arrives in a payload; it is only ever POSTed to when it points at Slack
(``https://hooks.slack.com/…``) or, for tests and local mode, at the configured Web API's own host.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.render.pieces import Message

log = logging.getLogger("bot.slack.respond")

SLACK_HOOK_HOSTS = frozenset({"hooks.slack.com", "hooks.slack-gov.com"})


class Responder:
    def __init__(self, session: aiohttp.ClientSession, *, api_url: str) -> None:
        self._session = session
        api = urlsplit(api_url)
        # The Web API's own host (a fake Slack in tests and local mode) is trusted as Slack is.
        self._extra = (api.scheme, api.netloc) if api.hostname not in ("slack.com", "slack-gov.com") else None

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname in SLACK_HOOK_HOSTS and not parts.port:
            return True
        return self._extra is not None and (parts.scheme, parts.netloc) == self._extra

    async def send(self, url: str, message: Message) -> bool:
        """Answer privately; False when the URL is not Slack's or Slack refused (expired, used up)."""
        if not self.allowed(url):
            log.warning("not answering through a response_url that is not Slack's (%s)", urlsplit(url).netloc)
            return False
        try:
            answer = await AsyncWebhookClient(url, session=self._session).send(
                text=message.text,
                blocks=message.blocks,
                response_type="ephemeral",
                replace_original=False,
            )
        except Exception as exc:  # an unreachable or expired response_url: the caller tries another way
            log.info("response_url unusable (%s)", type(exc).__name__)
            return False
        return answer.status_code < 300
