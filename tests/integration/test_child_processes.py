"""Whatever local mode starts dies with the process that started it, however that process dies, and
not before: the embedded Redis outlives the thread that started it (asyncio.to_thread's, say)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.integration.test_redis_cluster_harness import _gone

_CHILD = """
import sys, threading, time
from pathlib import Path
from bot.local.embedded_redis import EmbeddedRedis
server = EmbeddedRedis(Path(sys.argv[1]))
starter = threading.Thread(target=server.start)
starter.start()
starter.join()  # the thread that started the server has ended
print(server.port, server.process.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux only")
def test_the_embedded_server_outlives_its_starting_thread_but_not_its_process(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path / "redis")], stdout=subprocess.PIPE, cwd=os.getcwd()
    )
    assert child.stdout is not None
    port, server = (int(word) for word in child.stdout.readline().split())
    try:
        with redis.Redis(port=port, socket_timeout=5) as conn:
            assert conn.ping()  # still serving after the thread that started it ended
        child.kill()  # SIGKILL: no cleanup code of the child runs
        child.wait()
        gone_by = time.monotonic() + 10
        while time.monotonic() < gone_by and not _gone(server):
            time.sleep(0.05)
        assert _gone(server), f"server {server} outlived the process that started it"
    finally:
        child.kill()
        if not _gone(server):
            os.kill(server, signal.SIGKILL)
