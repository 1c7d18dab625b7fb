"""Socket Mode that fails cleanly: Bolt's adapter over slack_sdk's aiohttp client, changed where the
client would otherwise hang on for ever.

- ``apps.connections.open`` answers that will not change by retrying (:data:`REFUSALS`: a bot token,
  a revoked or unknown token, …) end the process with a :class:`~bot.config.ConfigError` naming
  ``SLACK_APP_TOKEN``, at start-up and on any later reconnect. slack_sdk retries them every 10 s.
- Answers that may change (5xx, network errors) are retried with the bot's backoff.
- Every wait races the stop signal (:func:`unless_stopped`): slack_sdk's ``connect()`` loops and
  sleeps inside itself, and SIGTERM must be honoured while it does.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable
from typing import TypeVar

import aiohttp
from slack_bolt.adapter.socket_mode.async_base_handler import AsyncBaseSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import ConfigError
from bot.domain.backoff import backoff

log = logging.getLogger("bot.slack.socket_mode")

T = TypeVar("T")

REFUSALS = {
    "not_allowed_token_type": "it is not an app-level token (xapp-…)",
    "invalid_auth": "Slack does not know it (revoked, regenerated, or another app's)",
    "not_authed": "no token reached Slack",
    "token_revoked": "it was revoked",
    "token_expired": "it expired",
    "account_inactive": "the app or its workspace is no longer active",
    "missing_scope": "it lacks the connections:write scope",
}
"""``apps.connections.open`` errors that no retry can change, with what they mean for the token."""

PING_INTERVAL = 10.0  # seconds, as Bolt's handler has it
RETRY_CAP = 60.0  # seconds between tries of apps.connections.open at the most


class Stopped(Exception):
    """The stop signal came while we were waiting for something else."""


async def unless_stopped(stop: asyncio.Event, awaitable: Awaitable[T]) -> T:
    """``await awaitable``, unless ``stop`` is set first: then it is cancelled and :class:`Stopped`
    raised."""
    if stop.is_set():
        if inspect.iscoroutine(awaitable):
            awaitable.close()  # never started: closed, so nothing warns that it was never awaited
        raise Stopped
    task = asyncio.ensure_future(awaitable)
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled() and stop.is_set():
        raise Stopped
    return task.result()


def refusal(code: str) -> ConfigError:
    return ConfigError(
        "invalid configuration:\n  SLACK_APP_TOKEN: Slack refused to open a Socket Mode connection with it "
        f"({code}): {REFUSALS.get(code, 'no retry can change that')}. Create an app-level token with the "
        "connections:write scope (Basic Information → App-Level Tokens), or unset SLACK_APP_TOKEN to use "
        "HTTP mode"
    )


class _Client(SocketModeClient):
    """slack_sdk's client, whose ``issue_new_wss_url`` (every connect and reconnect goes through it)
    retries what may pass with our backoff and gives up for good on a refusal (see ``refused``)."""

    def __init__(self, app_token: str, *, web_client: AsyncWebClient, logger: logging.Logger) -> None:
        super().__init__(app_token, logger=logger, web_client=web_client, ping_interval=PING_INTERVAL)
        self.refused: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def issue_new_wss_url(self) -> str:
        failures = 0
        while True:
            try:
                # (not slack_sdk's own: it reads an error answer that is not JSON as a mapping, and
                # fails on it outside any handling of ours; a 429 is waited out by the client)
                opened = await self.web_client.apps_connections_open(app_token=self.app_token)
                return str(opened["url"])
            except SlackApiError as exc:
                data = exc.response.data  # not a mapping when Slack's gateway answered with text
                code = str(data.get("error") or "unknown_error") if isinstance(data, dict) else "not_json"
                if code in REFUSALS:
                    # closed: slack_sdk's loops end quietly instead of retrying every 10 s
                    self.closed = True
                    if not self.refused.done():
                        self.refused.set_result(code)
                    raise
                reason = code
            except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                reason = type(exc).__name__
            failures += 1
            wait = backoff(failures, base=1.0, cap=RETRY_CAP, jitter=0.5)
            log.warning("Slack did not open a Socket Mode connection (%s); again in %.1fs", reason, wait)
            await asyncio.sleep(wait)


class SocketMode(AsyncBaseSocketModeHandler):
    """Bolt's Socket Mode handler (the same dispatch as ``AsyncSocketModeHandler``) on :class:`_Client`."""

    app: AsyncApp
    client: _Client

    def __init__(self, app: AsyncApp, app_token: str) -> None:
        self.app = app
        self.client = _Client(app_token, web_client=app.client, logger=app.logger)
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        start = time.time()
        response = await run_async_bolt_app(self.app, req)
        await send_async_response(client, req, response, start)

    async def run(self, stop: asyncio.Event) -> None:
        """Connect and serve until ``stop``; :class:`Stopped` if it came while connecting, the
        refusal's ConfigError if Slack refused the token (at the start or on a reconnect)."""
        refused = self.client.refused
        try:
            await unless_stopped(stop, self.client.connect())  # type: ignore[no-untyped-call]
            if not refused.done():
                log.info("connected to Slack over Socket Mode")
            code = await unless_stopped(stop, asyncio.shield(refused))
        except Stopped:
            return
        finally:
            await self.client.close()  # type: ignore[no-untyped-call]
        raise refusal(code)
