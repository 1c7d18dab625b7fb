"""The simulator as an aiohttp application, and running it on a loopback port.

Requests pass three middlewares, outermost first: traffic (request ID, error bodies, call log),
faults (latency, hangs, injected errors, swallowed answers) and the gateway (authentication and the
project check). IAM, TaurusDB of every served region and the ``/_sim/`` admin API share one server.
"""

from __future__ import annotations

import socket
from types import TracebackType

from aiohttp import web

from bot.local.simulator import admin, iam, taurusdb
from bot.local.simulator.auth import gateway_middleware
from bot.local.simulator.config import SimulatorConfig
from bot.local.simulator.faults import FAULTS, Faults, fault_middleware
from bot.local.simulator.state import STATE, SimulatorState
from bot.local.simulator.traffic import TRAFFIC, Traffic, traffic_middleware

SHUTDOWN_TIMEOUT = 1.0  # seconds a hung request may delay stop()


def create_app(config: SimulatorConfig) -> web.Application:
    """A fresh simulator; with ``config.state_file`` it resumes the saved backups and tokens."""
    app = web.Application(middlewares=[traffic_middleware, fault_middleware, gateway_middleware])
    state = SimulatorState(config)
    app[STATE] = state
    app[FAULTS] = Faults(config.faults, clock=state.now)  # state.now follows a swapped clock
    app[TRAFFIC] = Traffic()
    iam.add_routes(app.router)
    taurusdb.add_routes(app.router)
    admin.add_routes(app.router)
    return app


class RunningSimulator:
    """A simulator serving on ``url`` until :meth:`stop` (or the end of ``async with``)."""

    def __init__(self, app: web.Application, runner: web.AppRunner, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._runner = runner

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def state(self) -> SimulatorState:
        return self.app[STATE]

    @property
    def faults(self) -> Faults:
        return self.app[FAULTS]

    def project_id_of(self, region: str | None = None) -> str:
        """The project ID a region (default: the first) is served under."""
        config = self.state.config
        return config.project_id_of(region or config.region)

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def __aenter__(self) -> RunningSimulator:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


async def start_simulator(
    config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0
) -> RunningSimulator:
    """Serve a new simulator on ``host:port`` (port 0 picks a free one)."""
    app = create_app(config)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    site = web.SockSite(runner, sock)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return RunningSimulator(app, runner, host, int(sock.getsockname()[1]))
