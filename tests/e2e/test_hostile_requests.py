"""Hostile requests against the real web and worker processes: payloads that are malformed but validly
signed, another workspace's IDs, de-duplication that must never merge two people's requests, text that
would render as something else, channels the submitter is not in, and response URLs that are not
Slack's. One deployment (its own Redis and fake Slack) serves the whole module; each case uses users
and channels of its own."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from bot.domain.request import NOT_A_MEMBER, State
from bot.local.embedded_redis import free_port
from bot.local.fake_slack import new_trigger_id, sign_request, slash_command_body
from tests.e2e.harness import (
    ANALYTICS_DEV,
    ORDERS_DEV,
    SIGNING_SECRET,
    STAGING_A,
    STAGING_B,
    Stack,
    approval_message,
    approval_policy,
    calls_about,
    calls_since,
    click_payload,
    command_fields,
    create,
    form_view,
    mrkdwn_of,
    own_stack,
    posts_in,
    problems_in,
    recorded,
    reply_url,
    request_id_in,
    shown_inert,
    stored,
    submission,
    wait_state,
    wait_view,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

POLICY = approval_policy(operators=("U4OPCMD", "U4OPFORM", "U5SUB", "U10OP", "U6AT"))

FORM = "application/x-www-form-urlencoded"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    async with own_stack(
        session=request.session, log_dir=tmp_path_factory.mktemp("hostile-requests"), policy=POLICY
    ) as started:
        yield started


class Hooks:
    """A server that is not Slack, recording every request that reaches it."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def record(self, request: web.Request) -> web.Response:
        self.hits.append(f"{request.method} {request.path_qs}")
        return web.Response(text="ok")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def elsewhere() -> AsyncIterator[Hooks]:
    hooks = Hooks()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hooks.record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", hooks.port).start()
    yield hooks
    await runner.cleanup()


# --- 6. malformed but validly signed payloads -------------------------------------------------------


def _malformed_commands(stack: Stack) -> dict[str, dict[str, str]]:
    def base(**override: str) -> dict[str, str]:
        return command_fields(
            stack, "create orders-dev malformed-cmd", user="U6CMD", channel="C6CMD", **override
        )

    def without(*names: str) -> dict[str, str]:
        return {k: v for k, v in base().items() if k not in names}

    return {
        "no channel_id": without("channel_id"),
        "empty channel_id": base(channel_id=""),
        "no user_id": without("user_id"),
        "empty user_id": base(user_id=""),
        "user_id not a user": base(user_id="alice"),
        "channel_id not a channel": base(channel_id="#general"),
        "no team_id": without("team_id"),
        "empty team_id": base(team_id=""),
        "a trigger_id of 10 KB": base(trigger_id="1." + "9" * 10_000),
        "text of 50 KB": base(text="create orders-dev big " + "x" * 50_000),
    }


async def test_malformed_slash_commands_are_refused_cleanly_with_nothing_recorded(stack: Stack) -> None:
    cases = {case: stack.bot.post_form(fields) for case, fields in _malformed_commands(stack).items()}
    await refused_cleanly(stack, cases, "U6CMD", "C6CMD")


def _click_payloads(stack: Stack) -> dict[str, Any]:
    good: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": "U6CLICK", "team_id": "T1"},
        "team": {"id": "T1"},
        "trigger_id": new_trigger_id(),
        "response_url": reply_url(stack, "U6CLICK"),
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C6CLICK"},
        "actions": [
            {"type": "button", "action_id": "approve_request", "block_id": "b", "value": "r-aaaaaaaaaa"}
        ],
    }
    action = good["actions"][0]
    return {
        "an action that is a string": good | {"actions": ["approve_request"]},
        "a click without value": good | {"actions": [{k: v for k, v in action.items() if k != "value"}]},
        "a click with an empty value": good | {"actions": [action | {"value": ""}]},
        "a click with a value that is an object": good | {"actions": [action | {"value": {"id": "r"}}]},
        "a click without user": {k: v for k, v in good.items() if k != "user"},
        "a click with a user that is a string": good | {"user": "U6CLICK"},
        "a click with an empty user id": good | {"user": {"id": ""}},
        "a reject click without value": good
        | {"actions": [{"type": "button", "action_id": "reject_request", "block_id": "b"}]},
        "an interaction type the bot does not take": good | {"type": "message_action"},
        "no type at all": {k: v for k, v in good.items() if k != "type"},
        "a view_submission without view": {
            "type": "view_submission",
            "user": {"id": "U6CLICK"},
            "team": {"id": "T1"},
        },
    }


async def refused_cleanly(
    stack: Stack, requests: Mapping[str, Awaitable[httpx.Response]], *tags: str
) -> None:
    """Send the requests at once: every answer is a 2xx or 4xx, a 2xx does nothing (or says what is
    wrong with a form inline), and afterwards nothing was recorded, Slack was not called and the web
    log holds no error of ours."""
    web = stack.bot.process("web")
    mark, calls, before = web.log_mark(), len(stack.slack.calls()), await recorded(stack.redis)
    answers = await asyncio.gather(*requests.values())
    for case, answer in zip(requests, answers, strict=True):
        assert answer.status_code < 500, f"{case}: {answer.status_code} {answer.text}"
        if answer.status_code < 300 and answer.content.strip():
            assert answer.json().get("response_action") == "errors", f"{case}: {answer.text}"
    await asyncio.sleep(0.5)  # anything a listener did after its ack is done by now
    assert (await recorded(stack.redis)).nothing_new_since(before)
    assert calls_about(stack, calls, *tags) == []
    assert problems_in(web.log_since(mark)) == []


async def test_malformed_interactions_are_refused_cleanly_with_nothing_done(stack: Stack) -> None:
    cases = {case: stack.bot.interact(payload) for case, payload in _click_payloads(stack).items()}
    raw = {
        "payload that is not JSON": "payload=%7Bnot-json",
        "payload that is empty": "payload=",
        "a body that is not a form at all": "\x00{{{%%%&&&===%zz",
    }
    for case, body in raw.items():
        cases[case] = stack.bot.post_signed(body.encode(), content_type=FORM)
    await refused_cleanly(stack, cases, "U6CLICK", "C6CLICK")


async def test_clicks_whose_actions_are_empty_or_not_a_list_are_refused_cleanly(stack: Stack) -> None:
    good = _click_payloads(stack)["a click without user"] | {"user": {"id": "U6EMPTY", "team_id": "T1"}}
    action = {"type": "button", "action_id": "approve_request", "block_id": "b", "value": "r-aaaaaaaaaa"}
    cases = {
        "empty actions": stack.bot.interact(good | {"actions": []}),
        "actions that are an object": stack.bot.interact(good | {"actions": {"0": action}}),
    }
    await refused_cleanly(stack, cases, "U6EMPTY")


async def test_payloads_that_are_json_but_not_objects_are_refused_cleanly(stack: Stack) -> None:
    cases: dict[str, Awaitable[httpx.Response]] = {}
    for case, payload in {
        "a list": "[1, 2]",
        "a string": '"block_actions"',
        "null": "null",
        "a number": "7",
    }.items():
        body = ("payload=" + urllib.parse.quote(payload)).encode()
        cases[f"payload that is {case}"] = stack.bot.post_signed(body, content_type=FORM)
    cases["a JSON body that is a list"] = stack.bot.post_signed(b"[1, 2]", content_type="application/json")
    await refused_cleanly(stack, cases)


async def test_forms_with_shapeless_values_or_unreadable_metadata_record_nothing(stack: Stack) -> None:
    good_values = {"instance": ORDERS_DEV, "name": "malformed-form"}
    view = form_view(channel="C6FORM")
    cases: dict[str, Awaitable[httpx.Response]] = {}
    for case, metadata in {
        "metadata that is not JSON": "{channel_id: C6FORM",
        "metadata that is a JSON list": '["C6FORM"]',
        "metadata that is a JSON string": '"C6FORM"',
    }.items():
        cases[case] = stack.bot.interact(
            submission("U6FORM", view | {"private_metadata": metadata}, good_values)
        )
    shapeless: dict[str, Any] = {
        "values that are a list": [],
        "a block that is a string": {"instance": "x"},
        "an element that is a string": {"instance": {"instance_select": "x"}},
        "an element that is a list": {"instance": {"instance_select": ["x"]}},
        "a selected option that is a string": {
            "instance": {"instance_select": {"type": "external_select", "selected_option": ORDERS_DEV}},
            "name": {"name_input": {"type": "plain_text_input", "value": "malformed-form"}},
        },
        "a typed value that is a list": {
            "instance": {"instance_select": {"type": "external_select", "selected_option": {"value": "x"}}},
            "name": {"name_input": {"type": "plain_text_input", "value": ["malformed-form"]}},
        },
    }
    for case, values in shapeless.items():
        payload = submission("U6FORM", view, good_values)
        payload["view"]["state"] = {"values": values}
        cases[case] = stack.bot.interact(payload)
    reject = submission("U6FORMBOSS", {"callback_id": "reject_reason", "blocks": []}, {})
    for case, metadata in {
        "reject metadata that is not JSON": "r-aaaaaaaaaa",
        "reject metadata naming an object": json.dumps({"request_id": {"id": "r-aaaaaaaaaa"}}),
        "reject metadata naming no request": json.dumps({"request_id": "r-zzzzzzzzzz"}),
    }.items():
        cases[case] = stack.bot.interact(reject | {"view": reject["view"] | {"private_metadata": metadata}})
    await refused_cleanly(stack, cases, "U6FORM", "C6FORM")


async def test_a_form_naming_no_channel_records_nothing(stack: Stack) -> None:
    good_values = {"instance": ORDERS_DEV, "name": "forged-channel"}
    view = form_view(channel="C6META")
    cases: dict[str, Awaitable[httpx.Response]] = {}
    for case, metadata in {
        "a channel that is an object": json.dumps({"channel_id": {"id": "C6META"}}),
        "a channel that is no channel ID": json.dumps({"channel_id": "#general; rm"}),
        "a channel that is a number": json.dumps({"channel_id": 6}),
        "a seal that is a list": json.dumps({"channel_id": "C6META", "seal": ["x"]}),
        "a response URL that is an object": json.dumps({"channel_id": "C6META", "response_url": {}}),
    }.items():
        cases[case] = stack.bot.interact(
            submission("U6META", view | {"private_metadata": metadata}, good_values)
        )
    shortcut = form_view()  # the shortcut's form: the channel is picked in it
    for case, picked in {
        "a picked channel that is no channel ID": "#general; rm",
        "a picked channel that is a user": "U6META",
    }.items():
        cases[case] = stack.bot.interact(submission("U6META", shortcut, good_values | {"channel": picked}))
    await refused_cleanly(stack, cases, "U6META", "C6META")


async def test_a_start_time_that_is_not_the_forms_picker_is_refused_inline(stack: Stack) -> None:
    """The start time is the form's date-time picker: text there (however long, or a time the slash
    command would take), or a moment no calendar holds, is refused inline like a bad ``--at``."""
    stack.slack.knobs.channel_members["C6AT"] = ["U6AT"]
    view = form_view(channel="C6AT")
    picker = {"type": "datetimepicker"}
    cases: dict[str, dict[str, Any]] = {
        "100 KB of text": {"at_picker": {"type": "plain_text_input", "value": "x" * 100_000}},
        "a time typed as text": {"at_picker": {"type": "plain_text_input", "value": "21:45"}},
        "text that is no time": {"at_picker": {"type": "plain_text_input", "value": "not-a-time"}},
        "a lone surrogate": {"at_picker": {"type": "plain_text_input", "value": "\ud800"}},
        "a moment past the calendar": {"at_picker": picker | {"selected_date_time": 999_999_999_999_999}},
        "a moment before 1970": {"at_picker": picker | {"selected_date_time": -1}},
        "a moment that is text": {"at_picker": picker | {"selected_date_time": "1800000000"}},
        "a moment that is a fraction": {"at_picker": picker | {"selected_date_time": 1_800_000_000.5}},
        "a moment that is true": {"at_picker": picker | {"selected_date_time": True}},
        "two pickers": {"at_picker": picker, "at_other": picker},
    }
    web = stack.bot.process("web")
    mark, before = web.log_mark(), await recorded(stack.redis)
    for case, elements in cases.items():
        payload = submission("U6AT", view, {"instance": ORDERS_DEV, "name": "forged-at"})
        payload["view"]["state"]["values"]["at"] = elements
        answer = await stack.bot.interact(payload)
        assert answer.status_code == 200 and answer.content.strip(), f"{case}: {answer.text[:200]}"
        errors = answer.json().get("errors", {})
        says = "cannot be used" if case == "a time typed as text" else "is not a time"
        assert set(errors) == {"at"} and says in errors["at"], f"{case}: {answer.text[:200]}"
        assert len(errors["at"]) < 200, case  # the typed text is quoted, bounded
    await asyncio.sleep(0.5)  # anything a listener did after its ack is done by now
    assert (await recorded(stack.redis)).nothing_new_since(before)
    assert problems_in(web.log_since(mark)) == []
    # The picker itself, an hour ahead, is taken: the backup waits for its time.
    moment = int(time.time()) + 3600
    payload = submission("U6AT", view, {"instance": ORDERS_DEV, "name": "picked-at"})
    payload["view"]["state"]["values"]["at"] = {"at_picker": picker | {"selected_date_time": moment}}
    answer = await stack.bot.interact(payload)
    assert answer.status_code == 200 and not answer.content.strip(), answer.text
    [request_id] = (await recorded(stack.redis)).requests - before.requests
    planned = await wait_state(stack.redis, request_id, State.SCHEDULED)
    assert planned.at_asked == f"@{moment}" and planned.start_at == moment


async def test_requests_whose_signature_headers_are_not_slacks_are_refused(stack: Stack) -> None:
    web = stack.bot.process("web")
    mark, before = web.log_mark(), await recorded(stack.redis)
    body = slash_command_body("create orders-dev stamp-test", user_id="U6STAMP", channel_id="C6").decode()
    raw = body.encode()
    signed = sign_request(SIGNING_SECRET, raw)
    stamps = ["abc", "", "1e9", "-1", "+1700000000", "1700000000.5", "١٧٠٠٠٠٠٠٠٠", "9" * 40]
    cases: dict[str, Mapping[str, str | bytes]] = {
        f"timestamp {stamp!r}": signed | {"X-Slack-Request-Timestamp": stamp.encode()} for stamp in stamps
    }
    cases["timestamp an hour old, signed with it"] = sign_request(
        SIGNING_SECRET, raw, timestamp=int(signed["X-Slack-Request-Timestamp"]) - 3600
    )
    cases["no signature"] = {"X-Slack-Request-Timestamp": signed["X-Slack-Request-Timestamp"]}
    cases["a signature of another body"] = signed | {
        "X-Slack-Signature": sign_request(SIGNING_SECRET, b"other")["X-Slack-Signature"]
    }
    answers = await asyncio.gather(
        *(stack.bot.post_signed(raw, content_type=FORM, headers=headers) for headers in cases.values())
    )
    for case, answer in zip(cases, answers, strict=True):
        assert 400 <= answer.status_code < 500, f"{case}: {answer.status_code} {answer.text}"
    json_garbage = await stack.bot.post_signed(b"{not json", content_type="application/json")
    assert 400 <= json_garbage.status_code < 500
    assert (await recorded(stack.redis)).nothing_new_since(before)
    assert problems_in(web.log_since(mark)) == []


# --- 7. de-duplication never merges two people's requests --------------------------------------------


async def _received(stack: Stack, fields: dict[str, str]) -> str:
    answer = await stack.bot.post_form(fields)
    assert answer.status_code == 200, answer.text
    return request_id_in(answer.json()["text"])


async def test_commands_without_a_trigger_id_from_two_people_are_two_requests(stack: Stack) -> None:
    url = stack.slack.response_url()
    same = {"response_url": url, "text": "create orders-prod no-trigger-7"}
    first, second = (
        {
            k: v
            for k, v in command_fields(stack, "", user=user, channel="C7", **same).items()
            if k != "trigger_id"
        }
        for user in ("U7NOTRIGA", "U7NOTRIGB")
    )
    ids = [await _received(stack, first), await _received(stack, second)]
    assert ids[0] != ids[1], "the second person was told the first person's request"
    assert [(await stored(stack.redis, i)).user_id for i in ids] == ["U7NOTRIGA", "U7NOTRIGB"]


async def test_a_trigger_id_reused_by_another_person_makes_their_own_request(stack: Stack) -> None:
    trigger = new_trigger_id()
    ids = [
        await _received(
            stack,
            command_fields(
                stack, "create orders-prod reused-trigger-7", user=user, channel="C7", trigger_id=trigger
            ),
        )
        for user in ("U7TRIGA", "U7TRIGB", "U7TRIGC")
    ]
    assert len(set(ids)) == 3
    assert [(await stored(stack.redis, i)).user_id for i in ids] == ["U7TRIGA", "U7TRIGB", "U7TRIGC"]


async def test_the_same_persons_retry_is_one_request_with_or_without_a_trigger_id(stack: Stack) -> None:
    before = await recorded(stack.redis)
    retried = command_fields(stack, "create orders-prod retried-7", user="U7RETRY", channel="C7")
    untriggered = {
        k: v
        for k, v in command_fields(
            stack, "create orders-prod retried-7b", user="U7RETRY", channel="C7"
        ).items()
        if k != "trigger_id"
    }
    first = [await _received(stack, retried) for _ in range(3)]
    second = [await _received(stack, untriggered) for _ in range(2)]
    assert len(set(first)) == 1 and len(set(second)) == 1 and first[0] != second[0]
    after = await recorded(stack.redis)
    assert after.requests - before.requests == {first[0], second[0]}


# --- 8. another workspace --------------------------------------------------------------------------


async def test_another_workspaces_command_shortcut_and_form_are_refused(stack: Stack) -> None:
    foreign_user = {"id": "U8FOREIGN", "team_id": "T2OTHER"}
    form = submission(
        "U8FOREIGN", form_view(channel="C8FOREIGN"), {"instance": ORDERS_DEV, "name": "foreign-form"}
    )
    no_team = submission(
        "U8FOREIGN", form_view(channel="C8FOREIGN"), {"instance": ORDERS_DEV, "name": "foreign-form2"}
    )
    del no_team["team"]
    no_team["user"] = foreign_user
    nobody = submission(
        "U8FOREIGN", form_view(channel="C8FOREIGN"), {"instance": ORDERS_DEV, "name": "foreign-form3"}
    )
    del nobody["team"]
    nobody["user"] = {"id": "U8FOREIGN"}
    shortcut = {
        "type": "shortcut",
        "callback_id": "take_backup",
        "trigger_id": new_trigger_id(),
        "user": foreign_user,
        "team": {"id": "T2OTHER"},
    }
    event = {
        "type": "event_callback",
        "team_id": "T2OTHER",
        "api_app_id": "A1",
        "event": {"type": "app_home_opened", "user": "U8FOREIGN", "tab": "home"},
        "event_id": "Ev8FOREIGN",
        "event_time": 1,
    }
    web = stack.bot.process("web")
    mark, calls, before = web.log_mark(), len(stack.slack.calls()), await recorded(stack.redis)
    cases = {
        "a command": stack.bot.post_form(
            command_fields(
                stack,
                "create orders-dev foreign-cmd",
                user="U8FOREIGN",
                channel="C8FOREIGN",
                team_id="T2OTHER",
            )
        ),
        "a command for help": stack.bot.post_form(
            command_fields(stack, "help", user="U8FOREIGN", channel="C8FOREIGN", team_id="T2OTHER")
        ),
        "a form": stack.bot.interact(form | {"team": {"id": "T2OTHER"}, "user": foreign_user}),
        "a form whose user alone names the workspace": stack.bot.interact(no_team),
        "a form that names no workspace": stack.bot.interact(nobody),
        "a shortcut": stack.bot.interact(shortcut),
        "an event": stack.bot.post_signed(json.dumps(event).encode(), content_type="application/json"),
    }
    answers = dict(zip(cases, await asyncio.gather(*cases.values()), strict=True))
    for case, answer in answers.items():
        assert 400 <= answer.status_code < 500, f"{case}: {answer.status_code} {answer.text}"
    await asyncio.sleep(0.5)
    assert (await recorded(stack.redis)).nothing_new_since(before)
    assert calls_about(stack, calls, "U8FOREIGN", "C8FOREIGN") == []
    assert problems_in(web.log_since(mark)) == []


async def test_an_approvers_click_from_another_workspace_changes_nothing(stack: Stack) -> None:
    request_id = await _received(
        stack, command_fields(stack, "create billing-prod foreign-click", user="U8REQ", channel="C8")
    )
    parent = await approval_message(stack, request_id)
    calls = len(stack.slack.calls())
    for team in ({"id": "T2OTHER"}, {"id": "T2OTHER", "enterprise_id": "E2OTHER"}):
        click = click_payload(stack, "U0BOSS1", parent, "approve_request", tag="H8CLICK")
        click |= {"team": team, "user": {"id": "U0BOSS1", "team_id": "T2OTHER"}}
        answer = await stack.bot.interact(click)
        assert 400 <= answer.status_code < 500, answer.text
    reject = click_payload(stack, "U0BOSS2", parent, "reject_request", tag="H8CLICK") | {
        "team": {"id": "T2OTHER"}
    }
    assert 400 <= (await stack.bot.interact(reject)).status_code < 500
    await asyncio.sleep(0.5)
    current = await stored(stack.redis, request_id)
    assert current.state is State.PENDING_APPROVAL and current.approvals == [] and not current.decided_by
    assert calls_about(stack, calls, "H8CLICK") == []
    assert stack.slack.message(parent["channel"], parent["ts"]) == parent
    assert [b for b in await stack.bot.backups() if b["name"] == "foreign-click"] == []


# --- 4. text that renders as something else ------------------------------------------------------------

HIDDEN = {
    "NUL": "\x00",
    "BEL": "\x07",
    "ESC": "\x1b",
    "RIGHT-TO-LEFT OVERRIDE": "\u202e",
    "LEFT-TO-RIGHT ISOLATE": "\u2066",
    "ZERO WIDTH SPACE": "\u200b",
    "ZERO WIDTH JOINER": "\u200d",
    "BYTE ORDER MARK": "\ufeff",
    "SOFT HYPHEN": "\u00ad",
    "LINE SEPARATOR": "\u2028",
}


async def test_hidden_characters_in_a_command_are_refused_privately(stack: Stack) -> None:
    before = await recorded(stack.redis)
    for i, (name, char) in enumerate(HIDDEN.items()):
        typed = f"create orders-dev hidden-cmd-{i} before {char} after"
        answer = await stack.bot.post_form(command_fields(stack, typed, user="U4HIDE", channel="C4"))
        body = answer.json()
        assert answer.status_code == 200 and body.get("response_type", "ephemeral") == "ephemeral", name
        assert f"U+{ord(char):04X}" in body["text"] + json.dumps(body.get("blocks")), f"{name}: {body}"
    for typed in ("create orders\u202e-dev hidden-ref", "create orders-dev hid\u200bden"):
        answer = await stack.bot.post_form(command_fields(stack, typed, user="U4HIDE", channel="C4"))
        assert "received" not in answer.json()["text"].lower(), typed
    await asyncio.sleep(0.3)
    assert (await recorded(stack.redis)).nothing_new_since(before)
    assert posts_in(stack.slack, "C4") == []


async def test_hidden_characters_in_the_form_are_refused_inline(stack: Stack) -> None:
    stack.slack.knobs.channel_members["C4FORM"] = ["U4HIDE"]
    before = await recorded(stack.redis)
    view = form_view(channel="C4FORM")
    cases = {
        "description": {"description": "nightly \u200b copy"},
        "reference": {"reference": "CHG-\u202e1"},
        "reference with NUL": {"reference": "CHG\x001"},
        "description with ESC": {"description": "\x1b[31mred"},
        "both": {"description": "bell\x07", "reference": "\u2067iso"},
    }
    for case, typed in cases.items():
        values = {"instance": ORDERS_DEV, "name": "hidden-form", **typed}
        answer = await stack.bot.interact(submission("U4HIDE", view, values))
        errors = answer.json().get("errors", {}) if answer.content.strip() else {}
        assert set(errors) == set(typed), f"{case}: {answer.text}"
        assert all("U+" in problem for problem in errors.values()), f"{case}: {errors}"
    await asyncio.sleep(0.3)
    assert (await recorded(stack.redis)).nothing_new_since(before)


FORMATTED_DESCRIPTION = "*bold* _lean_ ~gone~ :fire: ```fence``` https://example.com/x www.example.org"


def _inert_everywhere(messages: list[dict[str, Any]], words: list[str]) -> None:
    """Each of ``words`` shows somewhere, and wherever it shows it is inside code."""
    for word in words:
        texts = [t for m in messages for t in mrkdwn_of(m) if word in t]
        assert texts, f"{word!r} is not shown at all"
        for text in texts:
            assert shown_inert(text, word), f"{word!r} would render as formatting in {text!r}"


async def test_formatting_in_a_commands_description_is_shown_as_typed(stack: Stack) -> None:
    typed = f"create {ANALYTICS_DEV} inert-cmd-4 {FORMATTED_DESCRIPTION}"
    request_id = await _received(stack, command_fields(stack, typed, user="U4OPCMD", channel="C4CMD"))
    done = await wait_state(stack.redis, request_id, State.COMPLETED, within=40)
    parent = stack.slack.message(done.channel_id, done.parent_ts)
    assert parent is not None
    thread = [parent, *stack.slack.replies(done.channel_id, done.parent_ts)]
    _inert_everywhere(
        thread, ["*bold*", "_lean_", "~gone~", ":fire:", "https://example.com/x", "www.example.org"]
    )
    assert "```fence" not in json.dumps(thread), "the user's code fence reached Slack as a fence"
    [backup] = [b for b in await stack.bot.backups() if b["name"] == "inert-cmd-4"]
    assert backup["description"] == FORMATTED_DESCRIPTION  # the cloud gets the words as typed


async def test_formatting_in_the_forms_description_and_reference_is_shown_as_typed(stack: Stack) -> None:
    stack.slack.knobs.channel_members["C4INERT"] = ["U4OPFORM"]
    opened = await stack.bot.command("", user_id="U4OPFORM", channel_id="C4INERT")
    assert opened.status_code == 200
    [call] = await stack.slack.wait_for(
        lambda c: c.method == "views.open" and "C4INERT" in json.dumps(c.args), timeout=10
    )
    description = "~strike~ _lean_ :tada: `tick` www.example.com/a"
    reference = "*CHG-4* <https://evil.example|click here> :boom: ```x```"
    values = {
        "instance": ORDERS_DEV,
        "name": "inert-form-4",
        "description": description,
        "reference": reference,
    }
    answer = await stack.bot.interact(submission("U4OPFORM", call.args["view"], values))
    assert answer.status_code == 200 and not answer.content.strip(b"{} "), answer.text
    [request_id] = [
        r
        for r in (await recorded(stack.redis)).requests
        if (await stored(stack.redis, r)).backup_name == "inert-form-4"
    ]
    done = await wait_state(stack.redis, request_id, State.COMPLETED, within=40)
    parent = stack.slack.message(done.channel_id, done.parent_ts)
    assert parent is not None
    thread = [parent, *stack.slack.replies(done.channel_id, done.parent_ts)]
    _inert_everywhere(thread, ["~strike~", "_lean_", ":tada:", "www.example.com/a", "*CHG-4*", ":boom:"])
    _inert_everywhere(thread, ["&lt;https://evil.example|click here&gt;"])
    assert "<https://evil.example" not in json.dumps(thread), "a link someone typed went live"


# --- 5. the form posts only where the submitter is --------------------------------------------------


async def _shortcut_form(stack: Stack, user: str) -> dict[str, Any]:
    mark = len(stack.slack.calls())
    payload = {
        "type": "shortcut",
        "callback_id": "take_backup",
        "trigger_id": new_trigger_id(),
        "user": {"id": user, "team_id": "T1"},
        "team": {"id": "T1"},
    }
    assert (await stack.bot.interact(payload)).status_code == 200
    for _ in range(200):
        opened = [c for c in calls_since(stack, mark, "views.open") if c.error is None]
        if opened:
            view: dict[str, Any] = opened[0].args["view"]
            assert "channel" in json.dumps(view["blocks"]), "the shortcut's form asks for no channel"
            return view
        await asyncio.sleep(0.05)
    raise AssertionError("the shortcut opened no form")


async def _submitted(stack: Stack, user: str, view: dict[str, Any], values: dict[str, Any]) -> str:
    before = await recorded(stack.redis)
    answer = await stack.bot.interact(submission(user, view, values))
    assert answer.status_code == 200 and not answer.content.strip(b"{} "), answer.text
    [request_id] = (await recorded(stack.redis)).requests - before.requests
    return request_id


def _private_notes_to(stack: Stack, user: str) -> list[str]:
    """What reached ``user`` privately: DMs and ephemeral messages."""
    dm = stack.slack.conversation_of(user)
    return [
        json.dumps(c.args)
        for c in stack.slack.calls()
        if c.error is None
        and (
            (c.method == "chat.postMessage" and stack.slack.conversation_of(str(c.args.get("channel"))) == dm)
            or (c.method == "chat.postEphemeral" and c.args.get("user") == user)
        )
    ]


async def _refused_as_not_a_member(stack: Stack, request_id: str, channel: str, user: str) -> None:
    refused = await wait_state(stack.redis, request_id, State.CREATE_FAILED)
    assert refused.error_code == NOT_A_MEMBER and not refused.parent_ts
    for _ in range(100):
        if any("You are not in" in note for note in _private_notes_to(stack, user)):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"{user} was not told privately: {stack.slack.calls()}")
    assert [c for c in stack.slack.calls("chat.postMessage") if c.args.get("channel") == channel] == []
    assert [c for c in stack.slack.calls("conversations.join") if c.args.get("channel") == channel] == []
    assert [
        c
        for c in stack.slack.calls("chat.postEphemeral")
        if c.error is None and c.args.get("channel") == channel
    ] == []


async def test_the_shortcut_form_refuses_a_public_channel_the_submitter_is_not_in(stack: Stack) -> None:
    stack.slack.knobs.channel_members["C5OUT"] = ["U5OTHER"]
    stack.slack.knobs.not_member.add("C5OUT")  # the bot is not in it either: it must not join
    view = await _shortcut_form(stack, "U5SUB")
    request_id = await _submitted(
        stack, "U5SUB", view, {"instance": ORDERS_DEV, "name": "not-mine-5", "channel": "C5OUT"}
    )
    await _refused_as_not_a_member(stack, request_id, "C5OUT", "U5SUB")
    assert not stack.slack.is_member("C5OUT")
    assert [b for b in await stack.bot.backups() if b["name"] == "not-mine-5"] == []


async def test_the_shortcut_form_refuses_a_private_channel_the_submitter_is_not_in(stack: Stack) -> None:
    stack.slack.knobs.channel_members["G5OUT"] = ["U5OTHER"]  # the bot is in it; the submitter is not
    view = await _shortcut_form(stack, "U5SUB")
    request_id = await _submitted(
        stack, "U5SUB", view, {"instance": ORDERS_DEV, "name": "not-mine-5g", "channel": "G5OUT"}
    )
    await _refused_as_not_a_member(stack, request_id, "G5OUT", "U5SUB")


async def test_a_forged_form_channel_is_refused_like_a_picked_one(stack: Stack) -> None:
    stack.slack.knobs.channel_members["C5HOME"] = ["U5SUB"]
    stack.slack.knobs.channel_members["C5FORGED"] = ["U5OTHER"]
    stack.slack.knobs.not_member.add("C5FORGED")
    view = form_view(channel="C5FORGED")  # the slash command's form, its channel changed on the way back
    request_id = await _submitted(stack, "U5SUB", view, {"instance": ORDERS_DEV, "name": "forged-5"})
    await _refused_as_not_a_member(stack, request_id, "C5FORGED", "U5SUB")


async def test_the_shortcut_form_posts_into_a_channel_the_submitter_is_in(stack: Stack) -> None:
    stack.slack.knobs.channel_members["C5IN"] = ["U5SUB", "U5OTHER"]
    stack.slack.knobs.not_member.add("C5IN")  # public: the bot joins it to post
    view = await _shortcut_form(stack, "U5SUB")
    request_id = await _submitted(
        stack, "U5SUB", view, {"instance": STAGING_A, "name": "mine-5", "channel": "C5IN"}
    )
    done = await wait_state(stack.redis, request_id, State.COMPLETED, within=40)
    assert done.channel_id == "C5IN" and done.parent_ts
    assert stack.slack.is_member("C5IN")
    assert [b["name"] for b in await stack.bot.backups() if b["name"] == "mine-5"] == ["mine-5"]


# --- 10. response URLs that are not Slack's ---------------------------------------------------------


async def _logged(stack: Stack, text: str, within: float = 10.0) -> None:
    for _ in range(int(within / 0.05)):
        if any(text in p.log() for p in stack.bot.processes):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no process logged {text!r}")


async def test_a_form_never_answers_through_a_response_url_that_is_not_slacks(
    stack: Stack, elsewhere: Hooks
) -> None:
    stack.slack.knobs.channel_members["C10"] = ["U10OP"]
    view = form_view(channel="C10", response_url=f"{elsewhere.url}/metadata")
    payload = submission("U10OP", view, {"instance": STAGING_B, "name": "hooked-10"})
    payload["response_urls"] = [
        {
            "block_id": "channel",
            "action_id": "channel_select",
            "channel_id": "C10",
            "response_url": f"{elsewhere.url}/picked",
        }
    ]
    before = await recorded(stack.redis)
    assert (await stack.bot.interact(payload)).status_code == 200
    [request_id] = (await recorded(stack.redis)).requests - before.requests
    await wait_state(stack.redis, request_id, State.COMPLETED, within=40)
    await _logged(stack, f"not Slack's (127.0.0.1:{elsewhere.port})")
    assert elsewhere.hits == []


async def test_private_notes_never_go_to_a_response_url_that_is_not_slacks(
    stack: Stack, elsewhere: Hooks
) -> None:
    stack.slack.knobs.channel_members["C10OUT"] = ["U5OTHER"]
    tricks = [
        f"http://hooks.slack.com@127.0.0.1:{elsewhere.port}/userinfo",  # the host is loopback, not Slack
        f"http://127.0.0.1:{elsewhere.port}/hooks.slack.com/commands/T1/1/x",
    ]
    for i, url in enumerate(tricks):
        view = form_view(channel="C10OUT", response_url=url)
        request_id = await _submitted(stack, "U10OP", view, {"instance": ORDERS_DEV, "name": f"trick-10-{i}"})
        await _refused_as_not_a_member(stack, request_id, "C10OUT", "U10OP")
    # A command's own response URL: a worker's private answer (a lookup, a refusal) never goes there.
    listing = command_fields(
        stack, "list orders-dev", user="U10OP", channel="C10", response_url=f"{elsewhere.url}/cmd"
    )
    assert "looking" in (await stack.bot.post_form(listing)).json()["text"].lower()
    shaped = command_fields(
        stack,
        "create no-such-instance shaped-10",
        user="U10OP",
        channel="C10",
        response_url="https://hooks.slack.com.invalid/commands/T1/1/x",
    )
    request_id = await _received(stack, shaped)
    await wait_state(stack.redis, request_id, State.CREATE_FAILED)
    await _logged(stack, "not Slack's (hooks.slack.com.invalid)")
    await _logged(stack, f"not Slack's (hooks.slack.com@127.0.0.1:{elsewhere.port})")
    await asyncio.sleep(0.5)
    assert elsewhere.hits == []


async def test_answers_after_the_ack_never_go_to_a_response_url_that_is_not_slacks(
    stack: Stack, elsewhere: Hooks
) -> None:
    """The web process's own private answers, not only the form's and the worker's: a click refused
    after its ack, and a command answered after its ack (Slack asked who this is), both named a
    response URL that is not Slack's."""
    stack.slack.knobs.channel_members["C10LATE"] = ["U10ASK"]
    request_id = await create(stack, "U10ASK", "create orders-prod late-10", "C10LATE")
    parent = await approval_message(stack, request_id)
    click = click_payload(stack, "U10CLICK", parent, "approve_request")
    click["response_url"] = f"{elsewhere.url}/click"
    assert (await stack.bot.interact(click)).status_code == 200
    # The refusal is not lost: it opens as a small modal, as on the App Home.
    notice = json.dumps(await wait_view(stack.slack, click["trigger_id"]))
    assert "approve" in notice.lower(), notice
    # Someone the bot has not met reads the audit trail (a guest may not): the answer waits for
    # Slack's word on them, after an empty ack.
    audit = command_fields(
        stack, "audit", user="U10LATER", channel="C10LATE", response_url=f"{elsewhere.url}/cmd"
    )
    answer = await stack.bot.post_form(audit)
    assert answer.status_code == 200 and not answer.content.strip(), answer.text
    await _logged(stack, f"not Slack's (127.0.0.1:{elsewhere.port})")
    await asyncio.sleep(0.5)
    assert elsewhere.hits == []
    assert (await stored(stack.redis, request_id)).state is State.PENDING_APPROVAL
