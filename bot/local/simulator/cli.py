"""``python -m bot simulator``: serve the simulator until SIGINT or SIGTERM.

Credentials, regions and project IDs come from the same environment variables the bot reads
(``HUAWEICLOUD_REGION``, ``HUAWEICLOUD_SDK_PROJECT_ID``, …), so a bot and a simulator started from one
environment agree; ``--regions`` and ``--project`` override them, and timings and start-up faults
come from the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.domain import rules
from bot.local.simulator.config import SimulatorConfig, split_list
from bot.local.simulator.knobs import FaultKnobs, Outage
from bot.local.simulator.server import start_simulator


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return key, value


def _outage(text: str) -> Outage:
    """``cn-north-4=60`` or ``<project id>=60:500``: that region or project fails for 60 s (503)."""
    where, seconds = _pair(text)
    duration, _, status = seconds.partition(":")
    try:
        scope = {"project_id": where} if rules.check_project_id(where) is None else {"region": where}
        return Outage.model_validate({**scope, "seconds": float(duration), "status": int(status or 503)})
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise argparse.ArgumentTypeError(f"bad outage {text!r}: {exc}") from None


def _count(text: str) -> tuple[str, int]:
    region, count = _pair(text)
    if not count.isdigit():
        raise argparse.ArgumentTypeError(f"expected REGION=N, got {text!r}")
    return region, int(count)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot simulator", description="TaurusDB + IAM simulator")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, required=True, help="port to listen on")
    parser.add_argument("--backup-seconds", type=float, help="BUILDING → COMPLETED after this (default 5)")
    parser.add_argument(
        "--job-invisible-seconds", type=float, help="a new job is unknown this long (default 3)"
    )
    parser.add_argument("--fleet", type=int, default=0, help="N more instances fleet-000… (default 0)")
    parser.add_argument("--token-ttl", type=float, help="IAM token lifetime in seconds (default 86400)")
    parser.add_argument("--state-file", type=Path, help="JSON file that keeps backups across restarts")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every response")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of reads answered with 503")
    parser.add_argument("--throttle-rate", type=float, default=0.0, help="share of reads answered with 429")
    parser.add_argument(
        "--regions",
        type=split_list,
        help="comma-separated regions to serve (default $HUAWEICLOUD_REGION or ap-southeast-3)",
    )
    repeatable: list[tuple[str, Callable[[str], Any], str, str]] = [
        ("--project", _pair, "REGION=PROJECT_ID", "a region's project ID (default derived from its name)"),
        (
            "--outage",
            _outage,
            "REGION|PROJECT_ID=SECONDS[:STATUS]",
            "every call to that region or project fails (503) for SECONDS from start-up",
        ),
        ("--iam-projects", _count, "REGION=N", "IAM finds N projects named REGION (0 or 2: a failed lookup)"),
    ]
    for flag, parse, metavar, text in repeatable:
        parser.add_argument(
            flag, type=parse, action="append", default=[], metavar=metavar, help=f"{text} (repeatable)"
        )
    return parser


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    overrides: dict[str, Any] = {
        field: value
        for field, value in (
            ("backup_seconds", args.backup_seconds),
            ("fleet_instances", args.fleet or None),
            ("job_invisible_seconds", args.job_invisible_seconds),
            ("token_ttl_seconds", args.token_ttl),
            ("state_file", args.state_file),
            ("regions", args.regions),
            ("projects", dict(args.project) or None),
        )
        if value is not None
    }
    faults = FaultKnobs(
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        throttle_rate=args.throttle_rate,
        outages=args.outage,
        iam_projects=dict(args.iam_projects),
    )
    return SimulatorConfig.from_env(os.environ, faults=faults, **overrides)


def _banner(url: str, config: SimulatorConfig) -> str:
    checked = "checked" if config.strict_tokens else "not checked"
    projects = config.project_map()
    if len(projects.projects) == 1:
        served = f"project {'any' if projects.open else projects.first.id}"
    else:
        served = "regions " + ", ".join(f"{p.region}={p.id}" for p in projects.projects)
    return f"TaurusDB simulator listening on {url} ({served}, credentials {checked})"


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
    except ValueError as exc:  # a ValidationError, or a malformed HUAWEICLOUD_SDK_PROJECT_ID pair
        print(f"invalid simulator settings:\n{exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(serve(config, args.host, args.port))
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
