"""Listeners run as the bot runs them: Bolt (``process_before_response=True``) answers at ``ack()``,
the rest of the listener goes on in a task that :class:`AfterAck` holds, logs and drains."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.slack.after_ack import AfterAck


async def _authorize(**_: Any) -> AuthorizeResult:
    return AuthorizeResult(
        enterprise_id=None, team_id="T1", bot_token="xoxb-test", bot_user_id="UB", bot_id="B1"
    )


def _app() -> AsyncApp:
    return AsyncApp(
        signing_secret="unused",
        authorize=_authorize,
        request_verification_enabled=False,
        process_before_response=True,
    )


def _command(text: str = "create orders-dev before-change") -> AsyncBoltRequest:
    body = urlencode(
        {
            "command": "/backup",
            "text": text,
            "team_id": "T1",
            "user_id": "U1",
            "channel_id": "C1",
            "response_url": "https://hooks.slack.com/commands/T1/1/x",
            "trigger_id": "1.2.3",
        }
    )
    return AsyncBoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})


def _event() -> AsyncBoltRequest:
    body = (
        '{"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1",'
        ' "event_time": 1, "event": {"type": "app_home_opened", "user": "U1", "tab": "home"}}'
    )
    return AsyncBoltRequest(body=body, headers={"content-type": ["application/json"]})


async def test_slack_is_answered_at_the_ack_while_the_listener_goes_on() -> None:
    after_ack, app = AfterAck(), _app()
    go_on, seen = asyncio.Event(), []

    async def listener(ack: Any, command: dict[str, Any]) -> None:
        await ack(text=f"received {command['text']}")
        await go_on.wait()
        seen.append("after")

    app.command("/backup")(after_ack.listener(listener))
    answer = await asyncio.wait_for(app.async_dispatch(_command()), 2)

    assert (answer.status, answer.body) == (200, "received create orders-dev before-change")
    assert seen == [] and after_ack.running == 1  # answered before the rest ran, which is held
    go_on.set()
    await after_ack.drain(2)
    assert seen == ["after"] and after_ack.running == 0


async def test_a_listener_that_fails_before_its_ack_is_answered_500_by_bolt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    after_ack, app = AfterAck(), _app()

    async def listener(ack: Any) -> None:
        raise RuntimeError("before the ack")

    app.command("/backup")(after_ack.listener(listener))
    with caplog.at_level(logging.ERROR):
        answer = await app.async_dispatch(_command())
        await after_ack.drain(1)

    assert answer.status == 500
    assert after_ack.running == 0
    assert "failed after its answer" not in caplog.text  # Bolt's to report, not ours as well


async def test_a_listener_that_fails_after_its_ack_keeps_its_answer_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    after_ack, app = AfterAck(), _app()
    failing = asyncio.Event()

    async def listener(ack: Any) -> None:
        await ack(text="received")
        await failing.wait()
        raise RuntimeError("views.open refused")

    app.command("/backup")(after_ack.listener(listener))
    with caplog.at_level(logging.ERROR, logger="bot.slack"):
        answer = await app.async_dispatch(_command())
        failing.set()
        await after_ack.drain(2)

    assert (answer.status, answer.body) == (200, "received")
    failures = [r for r in caplog.records if "failed after its answer" in r.getMessage()]
    assert len(failures) == 1 and "views.open refused" in str(failures[0].exc_info)


async def test_an_error_raised_in_the_same_step_as_the_ack_is_logged_not_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    after_ack, app = AfterAck(), _app()

    async def listener(ack: Any) -> None:
        await ack(text="received")
        raise RuntimeError("right after the ack")

    app.command("/backup")(after_ack.listener(listener))
    with caplog.at_level(logging.ERROR, logger="bot.slack"):
        answer = await app.async_dispatch(_command())
        await after_ack.drain(1)

    assert (answer.status, answer.body) == (200, "received")
    assert "right after the ack" in caplog.text


async def test_an_event_is_acknowledged_at_once_and_its_listener_runs_held() -> None:
    after_ack, app = AfterAck(), _app()
    go_on, seen = asyncio.Event(), []

    async def listener(event: dict[str, Any]) -> None:
        await go_on.wait()
        seen.append(event["user"])

    app.event("app_home_opened")(after_ack.listener(listener))
    answer = await asyncio.wait_for(app.async_dispatch(_event()), 2)

    assert answer.status == 200 and seen == [] and after_ack.running == 1
    go_on.set()
    await after_ack.drain(2)
    assert seen == ["U1"]


async def test_drain_cancels_what_outlives_its_timeout(caplog: pytest.LogCaptureFixture) -> None:
    after_ack, app = AfterAck(), _app()
    cancelled = asyncio.Event()

    async def listener(ack: Any) -> None:
        await ack()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    app.command("/backup")(after_ack.listener(listener))
    await app.async_dispatch(_command())
    with caplog.at_level(logging.WARNING, logger="bot.slack"):
        await after_ack.drain(0.05)

    assert cancelled.is_set() and after_ack.running == 0
    assert "still at work after their answer" in caplog.text


def test_every_front_of_a_process_shares_the_one_after_ack_its_shutdown_drains() -> None:
    from bot.bootstrap import Runtime

    runtime = Runtime(services=Any, slack=Any, responder=Any)  # type: ignore[arg-type]
    assert runtime.front.after_ack is runtime.after_ack
    assert runtime.front.after_ack is runtime.front.after_ack


def test_every_listener_of_the_bot_is_registered_through_front_listen() -> None:
    """A listener registered straight with Bolt would be answered only when it ends (Bolt runs with
    process_before_response=True), so each registration goes through ``front.listen``."""
    import re
    from pathlib import Path

    import bot.slack.listeners as listeners

    straight = re.compile(
        r"\bapp\.(command|action|view|event|options|shortcut|message|block_action)\([^)]*\)\("
    )
    through = re.compile(r"front\.listen\(app\.\w+\(")
    registered = 0
    for path in Path(listeners.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert not straight.search(text), f"{path.name} registers a listener without front.listen"
        registered += len(through.findall(text))
    assert registered >= 13  # every listener the bot has today
