"""A fake Slack Web API over real HTTP, for end-to-end tests and the local shell mode.

:class:`FakeSlack` is an aiohttp server answering ``/api/{method}`` the way Slack does (form, JSON
or query arguments; ``ok``/``error`` bodies; HTTP 429 with ``Retry-After``) and recording every call
in order. Point ``AsyncWebClient(base_url=fake.url)`` at it. Knobs, settable from Python or over HTTP
(``POST /_fake/knobs``), make it refuse like Slack: ``not_in_channel`` until the bot joins, rate
limits, server errors and any error code for the next calls of a method.

The module also builds what Slack sends *to* the bot: :func:`slash_command_body`,
:func:`interaction_body` and the signature headers of :func:`sign_request`.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import secrets
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.slack.render.text import escape

BOT_USER_ID = "UBOT"
BOT_ID = "B1"
TEAM_ID = "T1"
APP_ID = "A1"
TEAM_DOMAIN = "fake-workspace"
DEFAULT_LOCALE = "en-US"
DEFAULT_TZ = "Etc/UTC"

_TS_STEP = 100  # microseconds between consecutive message timestamps
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
_MEMBERSHIP_METHODS = frozenset({"chat.postMessage", "chat.update"})
_UNSET_RESPONSE_URL = "https://hooks.slack.invalid/commands/T1/0/unset"  # .invalid never resolves


# --- what was called ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """One request the fake received. ``status``/``error`` say how it was answered."""

    method: str
    args: dict[str, Any]
    at: float
    token: str | None = None
    status: int = 200
    error: str | None = None
    path: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


CallPredicate = Callable[[Call], bool]


# --- knobs ----------------------------------------------------------------------------------------


@dataclass
class Knobs:
    """How the fake misbehaves. Change fields directly, or :meth:`update` from JSON."""

    not_member: set[str] = field(default_factory=set)
    """Channels the bot is not in: chat.postMessage/chat.update answer ``not_in_channel`` until
    ``conversations.join`` (public ``C…`` channels only; ``D…`` DMs are always fine)."""
    rate_limit_next: dict[str, int] = field(default_factory=dict)
    """method → how many next calls answer HTTP 429 with ``Retry-After: retry_after``."""
    retry_after: int = 1
    fail_next: dict[str, int] = field(default_factory=dict)
    """method → how many next calls answer HTTP 500."""
    error_next: dict[str, list[str]] = field(default_factory=dict)
    """method → error codes the next calls answer with ``{"ok": false, "error": code}``, in order."""
    locales: dict[str, str] = field(default_factory=dict)
    """user ID → locale for users.info (default ``en-US``)."""
    timezones: dict[str, str] = field(default_factory=dict)
    """user ID → IANA time zone for users.info (default ``Etc/UTC``)."""
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    """user group handle → member user IDs."""
    require_token: bool = True
    """Answer ``not_authed`` to Web API calls without a token."""

    def update(self, values: Mapping[str, Any]) -> None:
        """Replace the given knobs (JSON-shaped values); unknown names raise ``ValueError``."""
        unknown = set(values) - set(_KNOB_TYPES)
        if unknown:
            raise ValueError(f"unknown knobs: {', '.join(sorted(unknown))}")
        for name, value in values.items():
            setattr(self, name, _KNOB_TYPES[name](value))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["not_member"] = sorted(self.not_member)
        return data


_KNOB_TYPES: dict[str, Callable[[Any], Any]] = {
    "not_member": lambda v: {str(c) for c in v},
    "rate_limit_next": lambda v: {str(k): int(n) for k, n in dict(v).items()},
    "retry_after": int,
    "fail_next": lambda v: {str(k): int(n) for k, n in dict(v).items()},
    "error_next": lambda v: {str(k): [str(e) for e in errs] for k, errs in dict(v).items()},
    "locales": lambda v: {str(k): str(x) for k, x in dict(v).items()},
    "timezones": lambda v: {str(k): str(x) for k, x in dict(v).items()},
    "usergroups": lambda v: {str(k): [str(u) for u in users] for k, users in dict(v).items()},
    "require_token": bool,
}


# --- the server -----------------------------------------------------------------------------------

Answer = dict[str, Any]


class FakeSlack:
    """The fake Web API. ``async with FakeSlack() as fake: AsyncWebClient(base_url=fake.url)``."""

    def __init__(self, knobs: Knobs | None = None) -> None:
        self.knobs = knobs or Knobs()
        self.app = web.Application()
        self._calls: list[Call] = []
        self._changed = asyncio.Condition()
        self._listeners: list[Callable[[Call], None]] = []
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._used_triggers: set[str] = set()
        # Timestamps start at the clock, like Slack's: a restarted fake never reuses an old one.
        self._ts = itertools.count(int(time.time() * 1_000_000) // _TS_STEP * _TS_STEP, _TS_STEP)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._base = ""
        self._handlers: dict[str, Callable[[dict[str, Any]], Answer]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "users.info": self._users_info,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
            "conversations.join": self._conversations_join,
            "conversations.info": self._conversations_info,
        }
        self.app.add_routes(
            [
                web.get("/_fake/calls", self._get_calls),
                web.delete("/_fake/calls", self._delete_calls),
                web.get("/_fake/knobs", self._get_knobs),
                web.post("/_fake/knobs", self._post_knobs),
                web.get("/_fake/messages", self._get_messages),
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

    def calls(self, method: str | None = None) -> list[Call]:
        """Calls in arrival order; only those of ``method`` when given (``"response_url"`` included)."""
        return [c for c in self._calls if method is None or c.method == method]

    def clear_calls(self) -> None:
        self._calls.clear()

    # A test helper whose deadline is the point of the call, hence the timeout parameter.
    async def wait_for(
        self,
        what: str | CallPredicate,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[Call]:
        """Wait until at least ``count`` calls match (a method name or a predicate); return them all.

        Raises ``TimeoutError`` naming what was recorded instead.
        """
        match: CallPredicate = (lambda c: c.method == what) if isinstance(what, str) else what

        def found() -> list[Call]:
            return [c for c in self._calls if match(c)]

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(found()) >= count), timeout)
            except TimeoutError:
                seen = ", ".join(c.method for c in self._calls) or "nothing"
                raise TimeoutError(
                    f"waited {timeout} s for {count} call(s) of {what!r}, got {len(found())}; "
                    f"recorded: {seen}"
                ) from None
        return found()

    def add_listener(self, listener: Callable[[Call], None]) -> None:
        """Call ``listener`` with every recorded call (e.g. the shell mode printing bot messages)."""
        self._listeners.append(listener)

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages as they stand now (after updates), in posting order, each with its ``channel``."""
        return [dict(m) for (ch, _), m in self._messages.items() if channel is None or ch == channel]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        found = self._messages.get((channel, ts))
        return dict(found) if found else None

    def replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Thread replies under the parent ``thread_ts``, in order."""
        return [m for m in self.messages(channel) if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts]

    def is_member(self, channel: str) -> bool:
        return channel.startswith("D") or channel not in self.knobs.not_member

    # HTTP: the Web API

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        try:
            args = await _read_args(request)
        except ValueError as exc:
            return await self._answer(method, {}, None, request.path, {"ok": False, "error": str(exc)})
        token = _bearer(request) or _pop_str(args, "token")
        if self.knobs.rate_limit_next.get(method, 0) > 0:
            self.knobs.rate_limit_next[method] -= 1
            answer = {"ok": False, "error": "ratelimited"}
            headers = {"Retry-After": str(self.knobs.retry_after)}
            return await self._answer(method, args, token, request.path, answer, status=429, headers=headers)
        if self.knobs.fail_next.get(method, 0) > 0:
            self.knobs.fail_next[method] -= 1
            answer = {"ok": False, "error": "internal_error"}
            return await self._answer(method, args, token, request.path, answer, status=500)
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

    async def _record(self, call: Call) -> None:
        self._calls.append(call)
        for listener in self._listeners:
            listener(call)
        async with self._changed:
            self._changed.notify_all()

    # HTTP: response_url and the control endpoints

    async def _response_url(self, request: web.Request) -> web.Response:
        try:
            args = await _read_args(request)
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

    # Web API methods

    def _next_ts(self) -> str:
        micro = next(self._ts)
        return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"

    def _auth_test(self, args: dict[str, Any]) -> Answer:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Fake Workspace",
            "user": "backup-bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _membership_error(self, method: str, channel: str) -> Answer | None:
        if method in _MEMBERSHIP_METHODS and not self.is_member(channel):
            return {"ok": False, "error": "not_in_channel"}
        return None

    def _chat_post_message(self, args: dict[str, Any]) -> Answer:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if refusal := self._membership_error("chat.postMessage", channel):
            return refusal
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        message = {
            "type": "message",
            "channel": channel,
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": str(args.get("text") or ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "metadata"):
            if key in args:
                message[key] = args[key]
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        self._messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> Answer:
        channel = str(args.get("channel") or "")
        ts = str(args.get("ts") or "")
        if refusal := self._membership_error("chat.update", channel):
            return refusal
        message = self._messages.get((channel, ts))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if "text" in args:
            message["text"] = str(args["text"] or "")
        if "blocks" in args:
            message["blocks"] = args["blocks"]
        elif "text" in args:
            message.pop("blocks", None)  # Slack drops the blocks when only text is sent
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {"ok": True, "channel": channel, "ts": ts, "text": message["text"], "message": message}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> Answer:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("user"):
            return {"ok": False, "error": "user_not_found"}
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return {"ok": False, "error": "no_text"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_get_permalink(self, args: dict[str, Any]) -> Answer:
        channel = str(args.get("channel") or "")
        ts = str(args.get("message_ts") or "")
        if (channel, ts) not in self._messages:
            return {"ok": False, "error": "message_not_found"}
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _use_trigger(self, args: dict[str, Any]) -> Answer | None:
        trigger = str(args.get("trigger_id") or "")
        if not trigger:
            return {"ok": False, "error": "invalid_arguments"}
        if trigger in self._used_triggers:
            return {"ok": False, "error": "trigger_exchanged"}
        issued_ms = trigger.split(".")[1] if trigger.count(".") == 2 else ""
        if issued_ms.isdigit() and time.time() * 1000 - int(issued_ms) > TRIGGER_TTL_SECONDS * 1000:
            return {"ok": False, "error": "expired_trigger_id"}
        self._used_triggers.add(trigger)
        return None

    def _store_view(self, view: Any, view_id: str, previous: str | None, root: str) -> Answer:
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        stored = {
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            **view,
            "id": view_id,
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "root_view_id": root,
            "previous_view_id": previous,
        }
        self._views[view_id] = stored
        return {"ok": True, "view": stored}

    def _views_open(self, args: dict[str, Any]) -> Answer:
        if refusal := self._use_trigger(args):
            return refusal
        view_id = f"V{next(self._ids):010d}"
        return self._store_view(args.get("view"), view_id, None, view_id)

    def _views_push(self, args: dict[str, Any]) -> Answer:
        if refusal := self._use_trigger(args):
            return refusal
        view_id = f"V{next(self._ids):010d}"
        top = next(reversed(self._views.values()), None)
        root = str(top["root_view_id"]) if top else view_id
        return self._store_view(args.get("view"), view_id, top["id"] if top else None, root)

    def _views_update(self, args: dict[str, Any]) -> Answer:
        view_id = str(args.get("view_id") or "")
        if not view_id and args.get("external_id"):
            view_id = next((i for i, v in self._views.items() if v["external_id"] == args["external_id"]), "")
        current = self._views.get(view_id)
        if current is None:
            return {"ok": False, "error": "not_found"}
        if args.get("hash") and args["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        return self._store_view(
            args.get("view"), view_id, current["previous_view_id"], current["root_view_id"]
        )

    def _users_info(self, args: dict[str, Any]) -> Answer:
        user_id = str(args.get("user") or "")
        if not user_id:
            return {"ok": False, "error": "user_not_found"}
        tz_name = self.knobs.timezones.get(user_id, DEFAULT_TZ)
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": user_id.lower(),
            "real_name": f"User {user_id}",
            "deleted": False,
            "is_bot": user_id == BOT_USER_ID,
            "tz": tz_name,
            "tz_label": tz_name,
            "tz_offset": _tz_offset(tz_name),
            "profile": {"real_name": f"User {user_id}", "display_name": user_id.lower()},
        }
        if _truthy(args.get("include_locale")):
            user["locale"] = self.knobs.locales.get(user_id, DEFAULT_LOCALE)
        return {"ok": True, "user": user}

    def _usergroups_list(self, args: dict[str, Any]) -> Answer:
        groups = []
        for handle, users in self.knobs.usergroups.items():
            group: dict[str, Any] = {
                "id": usergroup_id(handle),
                "team_id": TEAM_ID,
                "handle": handle,
                "name": handle,
                "user_count": len(users),
            }
            if _truthy(args.get("include_users")):
                group["users"] = list(users)
            groups.append(group)
        return {"ok": True, "usergroups": groups}

    def _usergroups_users_list(self, args: dict[str, Any]) -> Answer:
        wanted = str(args.get("usergroup") or "")
        for handle, users in self.knobs.usergroups.items():
            if wanted in (usergroup_id(handle), handle, "@" + handle):
                return {"ok": True, "users": list(users)}
        return {"ok": False, "error": "no_such_subteam"}

    def _channel_info(self, channel: str) -> dict[str, Any]:
        return {
            "id": channel,
            "name": channel.lower(),
            "is_channel": channel.startswith("C"),
            "is_group": channel.startswith("G"),
            "is_im": channel.startswith("D"),
            "is_private": channel.startswith("G"),
            "is_member": self.is_member(channel),
            "is_archived": False,
        }

    def _conversations_join(self, args: dict[str, Any]) -> Answer:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not channel.startswith("C"):
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        self.knobs.not_member.discard(channel)
        return {"ok": True, "channel": self._channel_info(channel)}

    def _conversations_info(self, args: dict[str, Any]) -> Answer:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": self._channel_info(channel)}


# --- request parsing ------------------------------------------------------------------------------


async def _read_args(request: web.Request) -> dict[str, Any]:
    """Query string plus the body (JSON, form or multipart); JSON-in-form fields decoded."""
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError:
                raise ValueError("invalid_json") from None
            if not isinstance(body, dict):
                raise ValueError("invalid_json")
            args.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                args[key] = value if isinstance(value, str) else f"<file {getattr(value, 'filename', '')}>"
        else:
            args.update(urllib.parse.parse_qsl(await request.text(), keep_blank_values=True))
    for key in _JSON_FIELDS:
        encoded = args.get(key)
        if isinstance(encoded, str) and encoded.strip():
            try:
                args[key] = json.loads(encoded)
            except json.JSONDecodeError:
                raise ValueError(f"invalid_{key}") from None
    return args


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    return header[len("bearer ") :].strip() or None


def _pop_str(args: dict[str, Any], key: str) -> str | None:
    value = args.pop(key, None)
    return str(value) if value else None


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _tz_offset(name: str) -> int:
    try:
        offset = datetime.now(UTC).astimezone(ZoneInfo(name)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds()) if offset else 0


def usergroup_id(handle: str) -> str:
    """The stable fake ID (``S…``) of a user group handle."""
    return "S" + hashlib.sha256(handle.encode()).hexdigest()[:10].upper()


# --- what Slack sends to the bot ------------------------------------------------------------------

_trigger_counter = itertools.count(1)
# Like Slack: a trigger_id can open one view, within three seconds of being issued (our fake's IDs
# carry their issue time in milliseconds, so views.open can refuse a late one).
TRIGGER_TTL_SECONDS = 3.0


def new_trigger_id() -> str:
    """A unique trigger ID shaped like Slack's."""
    return f"{next(_trigger_counter)}.{int(time.time() * 1000)}.{secrets.token_hex(16)}"


def sign_request(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` headers Slack would send."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": str(signature)}


def slash_command_body(
    text: str,
    user_id: str = "U1",
    channel_id: str = "C1",
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    response_url: str | None = None,
    *,
    command: str = "/backup",
    user_name: str = "user1",
    channel_name: str = "general",
    slack_escape: bool = True,
) -> bytes:
    """A slash command's form body as Slack posts it.

    ``text`` is what the user typed: Slack's ``&``/``<``/``>`` escaping is applied unless
    ``slack_escape`` is false (then pass Slack's own markup, e.g. ``<@U123>``, as it would arrive).
    Without ``response_url`` the body carries an unresolvable one; use ``FakeSlack.response_url()``.
    """
    fields = {
        "token": "fake-verification-token",
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": escape(text) if slack_escape else text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url or _UNSET_RESPONSE_URL,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return urllib.parse.urlencode(fields).encode()


def interaction_body(payload: dict[str, Any]) -> bytes:
    """An interaction's body as Slack posts it: ``payload=<urlencoded JSON>``."""
    return urllib.parse.urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
