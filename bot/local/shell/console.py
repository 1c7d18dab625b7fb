"""The shell's terminal: lines in, transcript out.

On a terminal, each line is read with ``input()`` (line editing and history when ``readline`` is
there) in a daemon thread, one prompt at a time, and bot messages that arrive while the reader is
typing are printed above the prompt, which is then drawn again. On a pipe or a file, a daemon
thread reads stdin with ``os.read`` (never holding the interpreter's stdin lock, so nothing blocks
exit) and every line read is echoed into the transcript after its prompt.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import queue
import sys
import threading
from collections.abc import Iterable
from typing import TextIO

_CLEAR_LINE = "\r\x1b[K"


class Console:
    def __init__(self, *, interactive: bool, out: TextIO | None = None, stdin_fd: int | None = None) -> None:
        self.interactive = interactive
        self._out = out or sys.stdout
        self._fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._prompts: queue.Queue[tuple[str, asyncio.Future[str | None]]] = queue.Queue()
        self._prompt: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ended = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.interactive:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (input() gains line editing and history)
        target = self._ask_terminal if self.interactive else self._pump_stdin
        self._thread = threading.Thread(target=target, name="shell-input", daemon=True)
        self._thread.start()

    async def read(self, prompt: str, *, echo_blank: bool = True) -> str | None:
        """The next line (without its newline), or None at the end of input. A script's lines are
        echoed after the prompt (blank ones only with ``echo_blank``)."""
        if self._ended:
            return None
        if self.interactive:
            assert self._loop is not None
            future: asyncio.Future[str | None] = self._loop.create_future()
            self._prompt = prompt
            self._prompts.put((prompt, future))
            try:
                line = await future
            finally:
                self._prompt = None
        else:
            line = await self._lines.get()
            if line is not None and (echo_blank or line.strip()):
                self.write([prompt + line])
        if line is None:
            self._ended = True
        return line

    def write(self, lines: Iterable[str]) -> None:
        text = "".join(line + "\n" for line in lines)
        if not text:
            return
        if self.interactive and self._prompt is not None:
            typed = _typed_so_far()
            self._out.write(_CLEAR_LINE + text + self._prompt + typed)
        else:
            self._out.write(text)
        self._out.flush()

    # --- threads ----------------------------------------------------------------------------------

    def _deliver(self, deliver: object, *args: object) -> bool:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(deliver, *args)  # type: ignore[arg-type]
        except RuntimeError:  # the loop is closed: the shell is gone
            return False
        return True

    def _ask_terminal(self) -> None:
        while True:
            prompt, future = self._prompts.get()
            try:
                line: str | None = input(prompt)
            except EOFError:
                self._out.write("\n")
                line = None
            except Exception:
                line = None
            if not self._deliver(_resolve, future, line) or line is None:
                return

    def _pump_stdin(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pending = ""
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except OSError:
                chunk = b""
            pending += decoder.decode(chunk, final=not chunk)
            *lines, pending = pending.split("\n")
            for line in lines:
                if not self._deliver(self._lines.put_nowait, line.removesuffix("\r")):
                    return
            if not chunk:
                break
        if pending:
            self._deliver(self._lines.put_nowait, pending)
        self._deliver(self._lines.put_nowait, None)


def _resolve(future: asyncio.Future[str | None], line: str | None) -> None:
    if not future.done():
        future.set_result(line)


def _typed_so_far() -> str:
    readline = sys.modules.get("readline")
    if readline is None:
        return ""
    try:
        return str(readline.get_line_buffer())
    except Exception:
        return ""
