"""A fake Socket Mode endpoint beside the fake Slack, for tests that run the bot in Socket Mode.

:class:`FakeSocketMode` makes the :class:`~bot.local.fake_slack.FakeSlack` answer
``apps.connections.open`` with the URL of a WebSocket served here (refusals and 5xx still come from
the fake's knobs: ``error_next`` / ``fail_next`` for that method). A connecting client gets Slack's
``hello``; a test then sends envelopes (:meth:`FakeSocketMode.send`: a slash command, an interaction,
an event) and reads the bot's acks, or asks the bot to reconnect (:meth:`FakeSocketMode.disconnect`,
Slack's ``refresh_requested``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.parse
from types import TracebackType
from typing import Any

from aiohttp import WSMsgType, web

from bot.local.fake_slack import APP_ID, FakeSlack
from bot.local.fake_slack.workspace import Answer, Args

METHOD = "apps.connections.open"


def slash_command_payload(body: bytes) -> dict[str, str]:
    """A slash command as Socket Mode carries it: the fields of the form body Slack would post."""
    return dict(urllib.parse.parse_qsl(body.decode()))


class FakeSocketMode:
    """``async with FakeSocketMode(fake_slack) as sockets:`` — the bot's Socket Mode peer."""

    def __init__(self, slack: FakeSlack) -> None:
        self.slack = slack
        self.opened = 0  # successful apps.connections.open answers
        self.connections: list[web.WebSocketResponse] = []  # every socket the bot opened, in order
        self.acks: dict[str, dict[str, Any]] = {}  # envelope ID → the bot's answer
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._url = ""

    async def start(self) -> FakeSocketMode:
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._url = f"ws://{host}:{port}/link"
        # The fake's handlers are bound per instance so that one method may be answered differently.
        self.slack._handlers[METHOD] = self._open
        return self

    async def stop(self) -> None:
        self.slack._handlers.pop(METHOD, None)
        for ws in self.connections:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSocketMode:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """The WebSocket URL ``apps.connections.open`` hands out."""
        return self._url

    @property
    def live(self) -> list[web.WebSocketResponse]:
        return [ws for ws in self.connections if not ws.closed]

    def _open(self, _: Args) -> Answer:
        self.opened += 1
        return {"ok": True, "url": f"{self._url}?ticket={self.opened}"}

    # what a test does

    async def wait_connected(self, count: int = 1, *, within: float = 20.0) -> web.WebSocketResponse:
        """Wait until ``count`` sockets were opened in all and one is live; the newest live one."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.connections) >= count and bool(self.live))
        return self.live[-1]

    async def send(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False
    ) -> str:
        """Send an envelope of ``kind`` (``slash_commands``, ``interactive``, ``events_api``) on the
        newest live socket; its envelope ID."""
        envelope_id = f"env-{next(self._ids)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        await (await self.wait_connected()).send_str(json.dumps(envelope))
        return envelope_id

    async def ack(self, envelope_id: str, *, within: float = 10.0) -> dict[str, Any]:
        """The bot's acknowledgement of an envelope (with its ``payload``, if it answered with one)."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: envelope_id in self.acks)
        return self.acks[envelope_id]

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """What Slack sends every few hours: the client is to connect anew."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}}
        await (await self.wait_connected()).send_str(json.dumps(message))

    # the WebSocket

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        async with self._changed:
            self.connections.append(ws)
            self._changed.notify_all()
        hello = {
            "type": "hello",
            "num_connections": len(self.live),
            "debug_info": {"host": "fake", "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID},
        }
        await ws.send_str(json.dumps(hello))
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "envelope_id" in data:
                async with self._changed:
                    self.acks[str(data["envelope_id"])] = data | {"received_at": time.time()}
                    self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()
        return ws
