"""The fake Web API server: aiohttp routes, the order in which Slack refuses a call (a scripted 429,
Slack's rate limits, a server error, a scripted non-JSON answer, a scripted error, a missing token),
the control endpoints under ``/_fake/``, and the queries tests ask of it."""

from __future__ import annotations

import asyncio
import functools
import secrets
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from bot.local.fake_slack import chat, conversations, users, views
from bot.local.fake_slack.args import bearer, pop_str, read_args
from bot.local.fake_slack.knobs import Knobs
from bot.local.fake_slack.limits import Limits
from bot.local.fake_slack.recording import Call, CallLog
from bot.local.fake_slack.workspace import Answer, Args, Handler, Workspace

_METHODS: dict[str, Handler] = {
    **users.METHODS,
    **chat.METHODS,
    **views.METHODS,
    **conversations.METHODS,
}


class FakeSlack(CallLog):
    """The fake Web API. ``async with FakeSlack() as fake: AsyncWebClient(base_url=fake.url)``."""

    def __init__(self, knobs: Knobs | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        """``clock`` (seconds) drives the rate limits; a test may pass one it moves by hand."""
        super().__init__()
        self.knobs = knobs or Knobs()
        self.app = web.Application()
        self.workspace = Workspace(self.knobs)
        self.limits = Limits(self.knobs, clock)
        self._runner: web.AppRunner | None = None
        self._base = ""
        # Bound per instance so a benchmark may wrap one method's handler.
        self._handlers: dict[str, Callable[[Args], Answer]] = {
            name: functools.partial(handler, self.workspace) for name, handler in _METHODS.items()
        }
        self.app.add_routes(
            [
                web.get("/_fake/calls", self._get_calls),
                web.delete("/_fake/calls", self._delete_calls),
                web.get("/_fake/knobs", self._get_knobs),
                web.post("/_fake/knobs", self._post_knobs),
                web.get("/_fake/messages", self._get_messages),
                web.get("/_fake/home", self._get_home),
                web.post("/response/{response_id}", self._response_url),
                web.route("*", "/api/{method:[A-Za-z0-9_.]+}", self._api),
                web.route("*", "/{method:[A-Za-z0-9_.]+}", self._api),
            ]
        )

    # lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeSlack:
        """Listen on ``host:port`` (0 = a free port); returns self."""
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else str(bound_host)
        self._base = f"http://{shown}:{bound_port}/"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://host:port/`` (the fake's root)."""
        if not self._base:
            raise RuntimeError("FakeSlack is not started")
        return self._base

    @property
    def url(self) -> str:
        """The Web API base URL for ``AsyncWebClient(base_url=…)``, ending with ``/api/``."""
        return self.base_url + "api/"

    def response_url(self, response_id: str | None = None) -> str:
        """A slash-command/interaction ``response_url`` served (and recorded) by this fake."""
        return self.base_url + "response/" + (response_id or secrets.token_hex(6))

    # queries

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages as they stand now (after updates), in posting order, each with its ``channel``."""
        return [dict(m) for (ch, _), m in self.workspace.messages.items() if channel is None or ch == channel]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        found = self.workspace.messages.get((channel, ts))
        return dict(found) if found else None

    def replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Thread replies under the parent ``thread_ts``, in order."""
        return [m for m in self.messages(channel) if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts]

    def is_member(self, channel: str) -> bool:
        return self.workspace.is_member(channel)

    def conversation_of(self, channel: str) -> str:
        """Where a post to ``channel`` lands (a person's user ID: the bot's DM with them, ``D…``)."""
        return self.workspace.conversation_of(channel)

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The Home view last published for ``user_id`` (with its ``id`` and ``hash``), if any."""
        found = self.workspace.home_views.get(user_id)
        return dict(found) if found else None

    # HTTP: the Web API

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        try:
            args = await read_args(request)
        except ValueError as exc:
            return await self._answer(method, {}, None, request.path, {"ok": False, "error": str(exc)})
        token = bearer(request) or pop_str(args, "token")
        if delays := self.knobs.slow_next.get(method):
            await asyncio.sleep(delays.pop(0))
        if self.knobs.rate_limit_next.get(method, 0) > 0:
            self.knobs.rate_limit_next[method] -= 1
            answer = {"ok": False, "error": "ratelimited"}
            headers = {"Retry-After": str(self.knobs.retry_after)}
            return await self._answer(method, args, token, request.path, answer, status=429, headers=headers)
        channel = self.workspace.conversation_of(str(args.get("channel") or ""))
        if (wait := self.limits.check(method, channel)) is not None:
            answer = {"ok": False, "error": "ratelimited"}
            headers = {"Retry-After": str(wait)}
            return await self._answer(method, args, token, request.path, answer, status=429, headers=headers)
        if self.knobs.fail_next.get(method, 0) > 0:
            self.knobs.fail_next[method] -= 1
            answer = {"ok": False, "error": "internal_error"}
            return await self._answer(method, args, token, request.path, answer, status=500)
        if raw := self.knobs.raw_next.get(method):
            return await self._answer_raw(method, args, token, request.path, raw.pop(0))
        if errors := self.knobs.error_next.get(method):
            answer = {"ok": False, "error": errors.pop(0)}
        elif token is None and self.knobs.require_token:
            answer = {"ok": False, "error": "not_authed"}
        else:
            handler = self._handlers.get(method)
            answer = handler(args) if handler else {"ok": True}
        return await self._answer(method, args, token, request.path, answer)

    async def _answer(
        self,
        method: str,
        args: dict[str, Any],
        token: str | None,
        path: str,
        answer: Answer,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        error = None if answer.get("ok") else str(answer.get("error", "unknown_error"))
        await self._record(Call(method, args, time.time(), token, status, error, path))
        return web.json_response(answer, status=status, headers=headers)

    async def _answer_raw(
        self, method: str, args: dict[str, Any], token: str | None, path: str, raw: dict[str, Any]
    ) -> web.Response:
        """An answer that is not Slack's JSON (recorded with the error ``raw_body``)."""
        status = int(raw.get("status", 200))
        await self._record(Call(method, args, time.time(), token, status, "raw_body", path))
        return web.Response(
            body=str(raw.get("body", "")).encode(),
            status=status,
            content_type=str(raw.get("content_type", "text/plain")),
        )

    # HTTP: response_url and the control endpoints

    async def _response_url(self, request: web.Request) -> web.Response:
        try:
            args = await read_args(request)
        except ValueError as exc:
            return web.Response(status=400, text=str(exc))
        await self._record(Call("response_url", args, time.time(), None, 200, None, request.path))
        return web.Response(text="ok")

    async def _get_calls(self, request: web.Request) -> web.Response:
        method = request.query.get("method")
        return web.json_response({"ok": True, "calls": [c.to_json() for c in self.calls(method)]})

    async def _delete_calls(self, request: web.Request) -> web.Response:
        self.clear_calls()
        return web.json_response({"ok": True})

    async def _get_knobs(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "knobs": self.knobs.to_json()})

    async def _post_knobs(self, request: web.Request) -> web.Response:
        try:
            values = await request.json()
            if not isinstance(values, dict):
                raise ValueError("knobs must be a JSON object")
            self.knobs.update(values)
        except (ValueError, TypeError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True, "knobs": self.knobs.to_json()})

    async def _get_messages(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "messages": self.messages(request.query.get("channel"))})

    async def _get_home(self, request: web.Request) -> web.Response:
        """``?user=U…``: that person's Home view (``null`` when none); else every published Home."""
        user = request.query.get("user")
        if user is not None:
            return web.json_response({"ok": True, "view": self.home_view(user)})
        return web.json_response({"ok": True, "views": self.workspace.home_views})
