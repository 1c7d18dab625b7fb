"""The bot's Redis client for a single server: commands made at the same moment go together.

A burst of Slack commands reaches the web process within a few milliseconds, and a poll tick hands
the worker hundreds of finished backups at once; each of them makes a few Redis calls. Sent one by
one, every call pays redis-py's whole round of work — a connection from the pool, its retry wrapper,
a timeout for the read, the release, the observability hooks — about three times what the call's own
bytes cost, and one write and one read of the socket each. :class:`BatchingRedis` queues the
commands made within one turn of the event loop and sends them as one pipeline (one connection, one
write, one read of all the replies). Each caller still gets its own reply, read by the command's own
response callback, or its own error, exactly as from a call of its own. A command made alone waits
only for the end of the current turn.

Nothing about what a command does changes: each script is still one atomic ``EVALSHA`` with its own
keys and arguments, and a pipeline is no transaction. A script the server forgot (a restart, a
failover, ``SCRIPT FLUSH``) is loaded again by redis-py's own ``Script`` on ``NOSCRIPT``, and only
that call is sent again. ``client.pipeline()`` is redis-py's own, on a connection of its own. On Redis
Cluster every command goes on its own, as before: this class is only for a single server.

The bot sends no blocking command (``BLPOP`` and its kind would hold every command of their batch
back); :meth:`BatchingRedis.execute_command` refuses them rather than stall the others.
"""

from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import Connection
from redis.client import EMPTY_RESPONSE, NEVER_DECODE
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import EncodableT, KeyT, ScriptTextT

MOST_AT_ONCE = 128  # commands per pipeline: a larger burst is sent as several, side by side

# Commands that wait on the server for something to happen: never sent with others.
_BLOCKING = frozenset(
    {"BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP", "WAIT"}
)
_NOT_FOR_CALLBACKS = (NEVER_DECODE, EMPTY_RESPONSE, "keys")


@dataclass(frozen=True, slots=True)
class _Call:
    args: tuple[EncodableT, ...]  # the command's name and its arguments
    options: dict[str, Any]  # what redis-py's method passes on to the reply's callback
    reply: asyncio.Future[Any]


class BatchingRedis(aioredis.Redis):
    """``redis.asyncio.Redis`` whose commands made within one turn of the loop share one pipeline.

    ``most``: commands per pipeline; a larger burst goes as several pipelines side by side, each on
    a connection of the pool.
    """

    def __init__(self, *args: Any, most: int = MOST_AT_ONCE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._most = most
        self._queued: list[_Call] = []
        self._sending: set[asyncio.Task[None]] = set()

    def register_script(self, script: ScriptTextT) -> AsyncScript:  # type: ignore[override]  # as redis.asyncio.Redis does
        return _Script(self, script)

    async def execute_command(self, *args: EncodableT, **options: Any) -> Any:
        """The command, sent with whatever others this turn makes. A caller cancelled while it
        waits gets no reply; its command may still run (as a command of its own already sent would)."""
        name = args[0]
        if self.single_connection_client or (isinstance(name, str) and name.upper() in _BLOCKING):
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Any] = loop.create_future()
        if not self._queued:
            loop.call_soon(self._send_queued)
        self._queued.append(_Call(args, options, reply))
        return await reply

    def _send_queued(self) -> None:
        queued, self._queued = self._queued, []
        for start in range(0, len(queued), self._most):
            task = asyncio.create_task(self._send(queued[start : start + self._most]))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, calls: list[_Call]) -> None:
        try:
            replies = await self._pipeline(calls)
        except asyncio.CancelledError:
            for call in calls:
                call.reply.cancel()
            raise
        except Exception as exc:  # the connection or the pool failed: every caller sees it
            for call in calls:
                if not call.reply.done():
                    call.reply.set_exception(exc)
            return
        for call, reply in zip(calls, replies, strict=True):
            if call.reply.done():
                continue  # its caller gave up waiting
            if isinstance(reply, Exception):
                call.reply.set_exception(reply)
            else:
                call.reply.set_result(reply)

    async def _pipeline(self, calls: list[_Call]) -> list[Any]:
        """The calls on one connection of the pool: one write, then every reply, with redis-py's
        own retry of the connection (the whole exchange again after a connection error or timeout,
        as its pipeline does, and as its ``execute_command`` does for one command). What redis-py's
        pipeline adds besides (a timeout and its bookkeeping per reply, observability hooks) is
        left out, and one timeout bounds all the replies: 50 script calls of 60 arguments each cost
        ~34 µs of CPU per call instead of ~58 (measured on the 2-core reference machine)."""
        pool = self.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            replies: list[Any] = await connection.retry.call_with_retry(
                lambda: self._exchange(connection, calls), lambda _error: connection.disconnect()
            )
            return replies
        finally:
            await pool.release(connection)

    async def _exchange(self, connection: Connection, calls: list[_Call]) -> list[Any]:
        await connection.send_packed_command(connection.pack_commands([call.args for call in calls]))
        replies: list[Any] = []
        try:
            async with asyncio.timeout(connection.socket_timeout):
                for call in calls:
                    replies.append(await self._reply(connection, call))
        except BaseException as exc:
            # Replies may still be on their way (a timeout, a cancellation, a reply that did not
            # read): this connection must not serve another exchange, which would read them as its own.
            await connection.disconnect(nowait=True)
            if isinstance(exc, TimeoutError):
                raise RedisTimeoutError(f"Timeout reading {len(calls)} replies") from None
            raise
        return replies

    async def _reply(self, connection: Connection, call: _Call) -> Any:
        """One reply, read as redis-py's ``parse_response`` reads it for the command; a server's
        error is the caller's, returned (not raised) so the replies after it are still read."""
        options = call.options
        try:
            # math.inf: no timeout of its own (redis-py's documented way): the exchange's bounds it
            reply = await connection.read_response(disable_decoding=NEVER_DECODE in options, timeout=math.inf)
        except ResponseError as exc:
            return options.get(EMPTY_RESPONSE, exc)
        name = call.args[0]
        callback = self.response_callbacks.get(name) if isinstance(name, str) else None
        if callback is None:
            return reply
        if options:
            options = {k: v for k, v in options.items() if k not in _NOT_FOR_CALLBACKS}
        parsed = callback(reply, **options)
        return await parsed if inspect.isawaitable(parsed) else parsed


class _Script(AsyncScript):
    """redis-py's ``Script``, its ``EVALSHA`` built once and handed to the client's
    ``execute_command`` (redis-py's copies the keys and arguments three times on the way: ~13 µs of
    a 60-argument call, a quarter of its whole cost in a batch). The same behaviour otherwise: a
    ``NOSCRIPT`` loads the script and sends the call once more; another client, or a pipeline,
    goes redis-py's own way."""

    async def __call__(
        self,
        keys: Sequence[KeyT] | None = None,
        args: Iterable[EncodableT] | None = None,
        client: Any = None,
    ) -> Any:
        if client is not None and client is not self.registered_client:
            return await super().__call__(keys, args, client)
        run = self.registered_client.execute_command
        keys = keys or ()
        command = ("EVALSHA", self.sha, len(keys), *keys, *(args or ()))
        try:
            return await run(*command)
        except NoScriptError:
            # the server forgot it (a restart, a failover, SCRIPT FLUSH): nothing ran
            self.sha = await self.registered_client.script_load(self.script)
            return await run("EVALSHA", self.sha, *command[2:])
