"""``python -m bot simulator``: serve the simulator until SIGINT or SIGTERM.

Credentials come from the same environment variables the bot reads, so a bot and a simulator started
from one environment agree; timings and start-up faults come from the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.local.simulator.config import SimulatorConfig
from bot.local.simulator.faults import FaultKnobs
from bot.local.simulator.server import start_simulator


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot simulator", description="TaurusDB + IAM simulator")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, required=True, help="port to listen on")
    parser.add_argument("--backup-seconds", type=float, help="BUILDING → COMPLETED after this (default 5)")
    parser.add_argument(
        "--job-invisible-seconds", type=float, help="a new job is unknown this long (default 3)"
    )
    parser.add_argument("--token-ttl", type=float, help="IAM token lifetime in seconds (default 86400)")
    parser.add_argument("--state-file", type=Path, help="JSON file that keeps backups across restarts")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every response")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of reads answered with 503")
    parser.add_argument("--throttle-rate", type=float, default=0.0, help="share of reads answered with 429")
    return parser


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    overrides: dict[str, Any] = {
        field: value
        for field, value in (
            ("backup_seconds", args.backup_seconds),
            ("job_invisible_seconds", args.job_invisible_seconds),
            ("token_ttl_seconds", args.token_ttl),
            ("state_file", args.state_file),
        )
        if value is not None
    }
    faults = FaultKnobs(
        latency_ms=args.latency_ms, error_rate=args.error_rate, throttle_rate=args.throttle_rate
    )
    return SimulatorConfig.from_env(os.environ, faults=faults, **overrides)


def _banner(url: str, config: SimulatorConfig) -> str:
    project = config.project_id or "any"
    checked = "checked" if config.strict_tokens else "not checked"
    return f"TaurusDB simulator listening on {url} (project {project}, credentials {checked})"


async def serve(config: SimulatorConfig, host: str, port: int) -> int:
    simulator = await start_simulator(config, host, port)
    print(_banner(simulator.url, config), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await simulator.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config = config_from_args(args)
    except ValidationError as exc:
        print(f"invalid simulator settings:\n{exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(serve(config, args.host, args.port))
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
