"""Entry points.

python -m bot              all-in-one: Socket Mode when SLACK_APP_TOKEN is set, HTTP otherwise,
                           with the worker in the same process; local shell mode with no Slack
                           credentials at all
python -m bot web          HTTP only (Procfile ``web``): POST /slack/events, GET /healthz on $PORT
python -m bot worker       scheduler consumer, poller and notifier (Procfile ``worker``)
python -m bot simulator    the TaurusDB + IAM simulator (``--port N``, ``--host``)
python -m bot shell        the local Slack shell (same as ``python -m bot`` without Slack credentials)

Production processes are built by :mod:`bot.bootstrap`. Only what a deployment would bring itself
and this one lacks (no ``REDIS_URL`` for the all-in-one process, no cloud configured) comes from
:mod:`bot.local`, which is imported only then.
"""

from __future__ import annotations

import signal
import sys


def _end_before_start(signum: int, frame: object) -> None:
    raise SystemExit(0)


# Importing the bot takes over a second: a SIGTERM meanwhile (a deploy that changed its mind) ends the
# process cleanly, with status 0, instead of Python's default death by the signal. Nothing has
# started yet, so there is nothing to drain; main() hands SIGTERM on to the serve loops. Only when run
# as the program (``python -m bot``): a process that merely imports this module keeps its own handling.
if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _end_before_start)

# The imports below come after the handler, so that it covers them (E402 on purpose).
import asyncio  # noqa: E402

from redis.exceptions import ConnectionError as RedisConnectionError  # noqa: E402

from bot.bootstrap import Body, serve, serve_all_in_one, serve_http, serve_worker, stop_event  # noqa: E402
from bot.config import CloudAuth, ConfigError, Settings, load_settings  # noqa: E402
from bot.logs import configure_logging  # noqa: E402

EX_CONFIG = 78


def _needs_stand_ins(settings: Settings, *, with_cloud: bool) -> bool:
    no_cloud = settings.cloud_auth is CloudAuth.NONE and settings.cloud_endpoint is None
    return settings.redis_url is None or (with_cloud and no_cloud)


async def _run(body: Body, settings: Settings, *, with_cloud: bool, embedded_redis_ok: bool) -> None:
    if settings.redis_url is None and not embedded_redis_ok:
        raise ConfigError(
            "invalid configuration:\n  REDIS_URL: required for separate web and worker processes"
        )
    stop = stop_event()  # before anything starts: SIGTERM while the stand-ins start is honoured too
    if not _needs_stand_ins(settings, with_cloud=with_cloud):
        await serve(body, settings, redis_url=settings.redis_url or "", with_cloud=with_cloud, stop=stop)
        return
    from bot.local.setup import stand_ins

    async with stand_ins(settings, with_cloud=with_cloud) as (redis_url, endpoint):
        await serve(
            body, settings, redis_url=redis_url, with_cloud=with_cloud, cloud_endpoint=endpoint, stop=stop
        )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else ""
    if command == "simulator":
        from bot.local.simulator.cli import main as simulator_main

        return simulator_main(args[1:])
    try:
        settings = load_settings()
        if command == "shell" or (command == "" and not settings.slack_configured):
            from bot.local.shell import main as shell_main

            return shell_main(args[1:] if command == "shell" else [], settings)
        configure_logging(settings.log_level, as_json=settings.log_format == "json")
        # Until the serve loop handles it, SIGTERM interrupts like Ctrl-C: a clean exit, not a kill.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        if command == "web":
            asyncio.run(_run(serve_http, settings, with_cloud=False, embedded_redis_ok=False))
        elif command == "worker":
            asyncio.run(_run(serve_worker, settings, with_cloud=True, embedded_redis_ok=False))
        elif command == "":
            asyncio.run(_run(serve_all_in_one, settings, with_cloud=True, embedded_redis_ok=True))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EX_CONFIG
    except RedisConnectionError as exc:  # at start-up: one line, and a restart may find it up
        print(f"cannot reach Redis at REDIS_URL: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
