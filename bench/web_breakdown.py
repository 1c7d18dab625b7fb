"""Where the web path's CPU goes, taken apart in one process: ``/backup create`` through Bolt's
``app.async_dispatch``, no HTTP.

Each variant is a Bolt app on the same configuration (``configured_app``: signing secret and
verification, the fixed-identity ``authorize``), fed the same signed slash commands through the bot's
own ``bolt_request_of``, 50 at a time (``asyncio.gather``), with a real Redis behind:

- ``bare``: a listener that only acks (the benchmark's stricter reference);
- ``guard``: the bot's guard middleware, and a listener taking the bot's four arguments that acks;
- ``render``: that, plus the grammar, the cached language, the request model and the Block Kit answer;
- ``no-write``: the whole bot, with the intake's one Redis call replaced by one that returns at once
  (a measuring device: what the rest of the path costs without the round trip);
- ``yield``: the same, the replacement yielding once to the event loop first;
- ``bot``: the whole bot, its request recorded in Redis.

Reported: CPU of this process per command (``time.process_time``), over R rounds per variant after
three warm-up bursts, the variants' rounds interleaved so they share the machine's noise. No figure
is asserted; compare variants of one run.

Run: ``python bench/web_breakdown.py`` (about 20 s), ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BOT_TOKEN,
    CHANNEL,
    SIGNING_SECRET,
    USER,
    machine_header,
    private_redis,
    scrub_environment,
    table,
)

BURST = 50
VARIANTS = ("bare", "guard", "render", "no-write", "yield", "bot")


async def run(rounds: int) -> dict[str, float]:
    from bot.bootstrap import open_runtime
    from bot.config import load_settings
    from bot.domain import grammar
    from bot.domain.request import BackupRequest
    from bot.local.fake_slack import FakeSlack, sign_request, slash_command_body
    from bot.slack.app import build_app, configured_app, identify_bot
    from bot.slack.guard import Guard
    from bot.slack.render import answers
    from bot.slack.web import bolt_request_of
    from bot.store import keys

    scrub_environment()
    with private_redis() as redis_url:
        async with FakeSlack() as fake:
            os.environ.update(
                REDIS_URL=redis_url,
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                SLACK_API_URL=fake.url,
            )
            settings = load_settings()
            runtime = await open_runtime(settings, redis_url=redis_url, with_cloud=False)
            services = runtime.services
            await services.redis.hset(
                keys.user(USER), mapping={"lang": "en-us", "guest": "0", "source": "slack"}
            )
            identity = await identify_bot(settings, runtime.slack)

            def app_with(listener: Callable[..., Awaitable[None]], *, guard: bool) -> Any:
                app = configured_app(settings, runtime.slack, identity)
                if guard:
                    app.middleware(Guard(identity.workspace))
                app.command("/backup")(listener)
                return app

            async def only_ack(ack: Any) -> None:
                await ack()

            async def four_arguments(ack: Any, context: Any, client: Any, respond: Any) -> None:
                await ack()

            async def render(ack: Any, context: Any, client: Any, respond: Any) -> None:
                command = context["payload"]
                parsed = grammar.parse(command.text)
                assert isinstance(parsed, grammar.Create)
                known = await services.people.known(command.user_id)
                request = BackupRequest(
                    team_id=command.team_id,
                    channel_id=command.channel_id,
                    user_id=command.user_id,
                    instance_ref=parsed.instance,
                    backup_name=parsed.name,
                    response_url=command.response_url,
                    language=known or "en-us",
                    role="requester",
                )
                message = answers.received(request, lang=request.language)
                await ack(text=message.text, blocks=message.blocks)

            record = services.intake.record

            async def returns_at_once(request: Any, **_: Any) -> tuple[str, bool]:
                return request.id, True

            async def yields_once(request: Any, **_: Any) -> tuple[str, bool]:
                await asyncio.sleep(0)
                return request.id, True

            bot = build_app(runtime.front, runtime.slack, identity)
            apps: dict[str, tuple[Any, Any]] = {
                "bare": (app_with(only_ack, guard=False), record),
                "guard": (app_with(four_arguments, guard=True), record),
                "render": (app_with(render, guard=True), record),
                "no-write": (bot, returns_at_once),
                "yield": (bot, yields_once),
                "bot": (bot, record),
            }
            serial = 0

            def commands() -> list[tuple[str, dict[str, str]]]:
                nonlocal serial
                out = []
                for _ in range(BURST):
                    serial += 1
                    body = slash_command_body(
                        f"create orders-dev wb-{serial:06d}", user_id=USER, channel_id=CHANNEL
                    )
                    headers = {
                        "Content-Type": "application/x-www-form-urlencoded",
                        **sign_request(SIGNING_SECRET, body),
                    }
                    out.append((body.decode() if isinstance(body, bytes) else body, headers))
                return out

            async def burst(variant: str) -> float:
                app, recorder = apps[variant]
                services.intake.record = recorder  # type: ignore[method-assign]
                prepared = commands()

                async def one(raw: str, headers: dict[str, str]) -> None:
                    request = bolt_request_of(raw, "", headers)
                    assert request is not None
                    answer = await app.async_dispatch(request)
                    assert answer.status == 200, answer.body

                began = time.process_time()
                await asyncio.gather(*(one(raw, headers) for raw, headers in prepared))
                spent = time.process_time() - began
                await asyncio.sleep(0.02)  # Bolt's listener tasks finish; the next burst starts clean
                return spent

            try:
                for variant in VARIANTS:
                    for _ in range(3):
                        await burst(variant)
                gc.collect()
                gc.freeze()
                spent = dict.fromkeys(VARIANTS, 0.0)
                for round_no in range(rounds):
                    shift = round_no % len(VARIANTS)
                    for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                        spent[variant] += await burst(variant)
            finally:
                services.intake.record = record  # type: ignore[method-assign]
                await services.close()
            return {variant: spent[variant] / (rounds * BURST) for variant in VARIANTS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run: two rounds")
    parser.add_argument("--rounds", type=int, default=40, help="rounds of 50 commands per variant")
    args = parser.parse_args()
    rounds = 2 if args.quick else args.rounds
    per_command = asyncio.run(run(rounds))
    print(machine_header("Web path taken apart (async_dispatch in one process, no HTTP)"))
    print(
        f"{rounds} round(s) of {BURST} simultaneous commands per variant, interleaved; CPU of this process.\n"
    )
    bare = per_command["bare"]
    rows = [
        [variant, f"{1000 * cpu:.3f}", f"{1000 * (cpu - bare):+.3f}", f"{cpu / bare:.2f}×"]
        for variant, cpu in per_command.items()
    ]
    print(table(["variant", "CPU ms per command", "above bare (ms)", "÷ bare"], rows))


if __name__ == "__main__":
    main()
