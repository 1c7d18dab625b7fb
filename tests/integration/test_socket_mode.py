"""The Socket Mode client against the fake Slack and the fake Socket Mode endpoint, in this process:
a refusal that no retry changes ends it with a ConfigError (at the start or on a reconnect), what
may pass is retried, and the stop signal ends it at any moment."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import ConfigError
from bot.local.fake_slack import BOT_USER_ID, TEAM_ID, FakeSlack
from bot.local.fake_socket_mode import METHOD, FakeSocketMode
from bot.slack.socket_mode import REFUSALS, SocketMode, Stopped, unless_stopped

APP_TOKEN = "xapp-1-A0TEST-1-0123456789abcdef"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def sockets(slack: FakeSlack) -> AsyncIterator[FakeSocketMode]:
    async with FakeSocketMode(slack) as fake:
        yield fake


def socket_mode(slack: FakeSlack) -> SocketMode:
    async def authorize(**_: Any) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=None, team_id=TEAM_ID, bot_token="xoxb-test", bot_user_id=BOT_USER_ID
        )

    client = AsyncWebClient(token="xoxb-test", base_url=slack.url)
    app = AsyncApp(client=client, authorize=authorize, request_verification_enabled=False)
    return SocketMode(app, APP_TOKEN)


def opens(slack: FakeSlack) -> int:
    return len(slack.calls(METHOD))


async def until(predicate: Callable[[], bool], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, f"not within {within}s"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("code", sorted(REFUSALS))
async def test_a_refusal_ends_it_at_once_naming_the_variable(
    slack: FakeSlack, sockets: FakeSocketMode, code: str
) -> None:
    slack.knobs.error_next[METHOD] = [code]
    with pytest.raises(ConfigError) as info:
        async with asyncio.timeout(20):
            await socket_mode(slack).run(asyncio.Event())
    message = str(info.value)
    assert message.startswith("invalid configuration:\n  SLACK_APP_TOKEN: ")
    assert f"({code})" in message and REFUSALS[code] in message
    assert APP_TOKEN not in message
    assert opens(slack) == 1  # not retried
    assert sockets.connections == []


async def test_what_may_pass_is_retried_until_it_connects(slack: FakeSlack, sockets: FakeSocketMode) -> None:
    slack.knobs.error_next[METHOD] = ["internal_error", "service_unavailable"]
    stop = asyncio.Event()
    running = asyncio.create_task(socket_mode(slack).run(stop))
    await sockets.wait_connected()
    assert opens(slack) == 3
    stop.set()
    async with asyncio.timeout(10):
        await running
    assert sockets.live == []  # closed on the way out


async def test_a_refusal_on_a_reconnect_ends_it_too(slack: FakeSlack, sockets: FakeSocketMode) -> None:
    running = asyncio.create_task(socket_mode(slack).run(asyncio.Event()))
    await sockets.wait_connected()
    await sockets.disconnect()  # Slack's refresh_requested: the client asks for a new URL
    await sockets.wait_connected(count=2)
    assert sockets.opened == 2
    slack.knobs.error_next[METHOD] = ["token_revoked"]
    await sockets.disconnect()
    with pytest.raises(ConfigError, match="token_revoked"):
        async with asyncio.timeout(20):
            await running


async def test_stop_ends_it_while_it_still_tries_to_connect(
    slack: FakeSlack, sockets: FakeSocketMode
) -> None:
    slack.knobs.error_next[METHOD] = ["internal_error"] * 1000
    stop = asyncio.Event()
    running = asyncio.create_task(socket_mode(slack).run(stop))
    await until(lambda: opens(slack) >= 2)  # backing off between tries
    stop.set()
    async with asyncio.timeout(5):  # far less than the next backoff could be
        await running
    assert sockets.connections == []


async def test_stop_ends_it_while_slack_sdk_sleeps_between_websocket_tries(slack: FakeSlack) -> None:
    async with FakeSocketMode(slack) as sockets:
        dead = sockets.url
    # The URL now names a closed port: slack_sdk's connect() retries it every 10 s inside itself.
    slack._handlers[METHOD] = lambda _: {"ok": True, "url": dead}
    stop = asyncio.Event()
    running = asyncio.create_task(socket_mode(slack).run(stop))
    await until(lambda: opens(slack) >= 1)
    await asyncio.sleep(0.3)
    stop.set()
    async with asyncio.timeout(5):
        await running


# --- unless_stopped -------------------------------------------------------------------------------


async def test_unless_stopped_gives_the_result_or_cancels_on_stop() -> None:
    stop = asyncio.Event()

    async def answer() -> int:
        return 42

    assert await unless_stopped(stop, answer()) == 42

    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    waiting = asyncio.create_task(unless_stopped(stop, forever()))
    await asyncio.sleep(0.01)
    stop.set()
    with pytest.raises(Stopped):
        await waiting
    assert cancelled.is_set()
    with pytest.raises(Stopped):
        await unless_stopped(stop, answer())  # already stopped: never started (and no warning)


async def test_unless_stopped_passes_errors_through() -> None:
    async def fails() -> None:
        raise LookupError("boom")

    with pytest.raises(LookupError, match="boom"):
        await unless_stopped(asyncio.Event(), fails())
