"""The local shell's pure parts: Block Kit as terminal text, modals as questions, Slack payloads,
and the demo users agreeing with the demo policy."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.domain.gates import needs_approval
from bot.domain.policy import Role, role_of
from bot.domain.policy_file import load_policy
from bot.domain.request import BackupRequest, State
from bot.i18n import t
from bot.local.fake_slack import dm_channel_id
from bot.local.shell import payloads
from bot.local.shell.forms import (
    FormField,
    Option,
    Problem,
    answer,
    default_of,
    display_blocks,
    fields_of,
    merge_values,
    options_of,
    pick,
    shown_value,
    title_of,
)
from bot.local.shell.frames import changed_lines, channel_label, frame_post, frame_private, frame_update
from bot.local.shell.render import Control, controls_in, render_blocks, render_message
from bot.local.shell.text import Names, columns, mrkdwn
from bot.local.shell.users import (
    CHANNEL_ID,
    DEFAULT_USER,
    DEMO_POLICY,
    DEMO_USERS,
    channel_names,
    find_user,
    user_names,
)
from bot.local.simulator import seed_id
from bot.slack.render import answers, views
from bot.slack.render import request as kit

NAMES = Names(users={"U0OSCAR01": "oscar", "U0CAROL01": "carol"}, channels={"C0BACKUPS": "backups"})
BEGIN = datetime(2026, 11, 27, 16, 30, 5, tzinfo=UTC)
OSCAR = DEMO_USERS[1]


def request(state: State = State.BUILDING, **changes: Any) -> BackupRequest:
    values: dict[str, Any] = {
        "id": "r-abcdefghjk",
        "state": state,
        "created_at": BEGIN,
        "channel_id": "C0BACKUPS",
        "user_id": "U0OSCAR01",
        "instance_ref": "orders-dev",
        "instance_id": seed_id("orders-dev"),
        "instance_name": "orders-dev",
        "backup_name": "pre-demo-1",
        "description": "trying <the> shell & more",
        "backup_id": "b" * 32 + "br07",
        "job_id": "job-1",
        "begin_time": BEGIN,
        "end_time": BEGIN.replace(second=45),
        "size_mb": 512.0,
        "progress": 40,
    }
    values.update(changes)
    return BackupRequest(**values)


def counter() -> Any:
    numbers = itertools.count(1)
    seen: dict[tuple[Any, ...], int] = {}

    def number(control: Control) -> int:
        if control.identity not in seen:
            seen[control.identity] = next(numbers)
        return seen[control.identity]

    return number


# --- mrkdwn ---------------------------------------------------------------------------------------


def test_mrkdwn_names_people_and_channels_and_undoes_slack_escaping() -> None:
    text = "Hi <@U0OSCAR01>, see <#C0BACKUPS> or <#C9|ops>; <@U404> &lt;b&gt; &amp;lt; <!here>"
    assert mrkdwn(text, NAMES) == "Hi @oscar, see #backups or #ops; @U404 <b> &lt; @here"


def test_mrkdwn_shows_a_date_token_by_its_fallback_and_a_link_by_its_label() -> None:
    text = "<!date^1700000000^{date_short_pretty} {time}|2023-11-14 22:13:20 UTC> <https://x.example|docs>"
    assert mrkdwn(text, NAMES) == "2023-11-14 22:13:20 UTC docs (https://x.example)"


def test_mrkdwn_drops_bold_markers_and_draws_emoji_but_leaves_code_alone() -> None:
    assert mrkdwn("*Backup* :white_check_mark: done `*prod*` :unknown_emoji:", NAMES) == (
        "Backup ✅ done `*prod*` :unknown_emoji:"
    )


def test_mrkdwn_code_blocks_keep_their_lines_without_fences() -> None:
    assert mrkdwn("Usage:\n```/backup help\n/backup list x```", NAMES).splitlines() == [
        "Usage:",
        "/backup help",
        "/backup list x",
    ]


# --- blocks ---------------------------------------------------------------------------------------


def test_parent_message_renders_header_title_fields_in_columns_and_context() -> None:
    lines = render_message(kit.parent_message(request()).as_kwargs(), NAMES)
    assert lines[0] == "⏳ Backup in progress"
    assert lines[1] == "Backup `pre-demo-1` of orders-dev"
    requested = next(line for line in lines if line.startswith("Requested by: @oscar"))
    assert "Instance: orders-dev" in requested  # the second column of the same row
    assert "Description: trying <the> shell & more" in lines
    assert any(line.startswith("Progress") and "40%" in line for line in lines)
    assert lines[-1].startswith("› Request `r-abcdefghjk` · asked 2026-11-27 16:30:05 UTC")
    assert not any("<@" in line or "&lt;" in line or "*" in line for line in lines)


def test_final_reply_mentions_the_requester_by_name() -> None:
    lines = render_message(kit.final_reply(request(State.COMPLETED)).as_kwargs(), NAMES)
    assert lines[0].startswith("@oscar ✅ Backup `pre-demo-1` of orders-dev completed (512 MB, 40 s)")
    assert any(line.startswith("Size: 512 MB") and "Duration: 40 s" in line for line in lines)


def test_help_message_renders_usage_lines_and_notes() -> None:
    lines = render_message(
        answers.help_message("/backup help\n/backup list <x>", ["a note"], lang="en-us").as_kwargs(), NAMES
    )
    assert "/backup help" in lines and "/backup list <x>" in lines and "• a note" in lines


def test_buttons_are_numbered_and_keep_their_numbers_in_a_later_version() -> None:
    number = counter()
    pending = kit.parent_message(request(State.PENDING_APPROVAL, progress=None), ["<@U0CAROL01>"])
    lines = render_message(pending.as_kwargs(), NAMES, number)
    assert "[1 Approve]  [2 Reject]" in lines
    assert "Approvers: @carol" in lines
    again = render_message(pending.as_kwargs(), NAMES, number)
    assert "[1 Approve]  [2 Reject]" in again
    assert "[3 Cancel request]" in again  # the requester's own button, on its own row

    [approve, reject, cancel] = controls_in(pending.blocks, NAMES)
    assert cancel.action_id == kit.CANCEL_ACTION and cancel.block_id == "own:r-abcdefghjk"
    assert (approve.action_id, approve.value, approve.kind) == (kit.APPROVE_ACTION, "r-abcdefghjk", "button")
    assert (
        reject.action_id == kit.REJECT_ACTION and approve.block_id == reject.block_id == "decide:r-abcdefghjk"
    )
    assert approve.element["confirm"]  # the confirmation travels with the control


def test_context_divider_accessory_and_selects_render_readably() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": ":rocket: Go"}},
        {"type": "divider"},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "Pick one"},
            "accessory": {
                "type": "static_select",
                "action_id": "pick",
                "placeholder": {"type": "plain_text", "text": "Choose"},
                "options": [{"text": {"type": "plain_text", "text": "A"}, "value": "a"}],
            },
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "by <@U0CAROL01>"}]},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "go",
                    "text": {"type": "plain_text", "text": "Go"},
                    "url": "https://x.example",
                }
            ],
        },
    ]
    assert render_blocks(blocks, NAMES, counter()) == [
        "🚀 Go",
        "───",
        "Pick one",
        "[1 ▾ Choose]",
        "› by @carol",
        "[2 Go ↗ https://x.example]",
    ]
    [select, link] = controls_in(blocks, NAMES)
    assert select.block_id and select.block_id == controls_in(blocks, NAMES)[0].block_id  # stable made-up id
    assert link.kind == "button"


def test_a_message_without_blocks_shows_its_text() -> None:
    assert render_message({"text": "plain <@U0OSCAR01>"}, NAMES) == ["plain @oscar"]


def test_columns_pad_the_left_cell_and_keep_a_gap_after_long_ones() -> None:
    assert columns(["a: 1", "b: 2", "c: 3"], width=8) == ["a: 1    b: 2", "c: 3"]
    assert columns(["long-left-cell", "r"], width=8) == ["long-left-cell   r"]


# --- frames ---------------------------------------------------------------------------------------


def test_thread_replies_are_indented_under_their_parent() -> None:
    parent = frame_post(["hello"], where="#backups", number=1, author="backup-bot")
    reply = frame_post(
        ["the job"], where="#backups", number=2, author="backup-bot", thread_of=1, in_thread=True
    )
    assert parent == ["#backups · message 1 · backup-bot", "  │ hello"]
    assert reply[0] == "    ↳ message 2, in the thread of message 1 (#backups) · backup-bot"
    assert reply[1] == "      │ the job"
    orphan = frame_post(["late"], where="#backups", number=3, author="backup-bot", in_thread=True)
    assert "a thread from an earlier session" in orphan[0]


def test_an_update_is_marked_and_shows_what_changed() -> None:
    old = render_message(kit.parent_message(request(progress=10)).as_kwargs(), NAMES)
    new = render_message(kit.parent_message(request(progress=60)).as_kwargs(), NAMES)
    framed = frame_update(old, new, where="#backups", number=1)
    assert framed[0] == "✎ updated: message 1 (#backups)"
    assert len(framed) == 2 and "60%" in framed[1]
    assert changed_lines(["a", "b"], ["a", "c"]) == ["c"]
    removed = frame_update(["a", "b"], ["a"], where="#backups", number=4)
    assert removed[1].endswith("(some lines were removed)")
    decided = frame_update(["waiting", "[1 Approve]  [2 Reject]"], ["approved"], where="#backups", number=4)
    assert [line.removeprefix("  │ ") for line in decided[1:]] == [
        "approved",
        "(buttons removed: [1 Approve]  [2 Reject])",
    ]


def test_private_messages_say_whom_they_are_for() -> None:
    framed = frame_private(["only you"], user="oscar", author="backup-bot")
    assert framed == ["  🔒 only oscar sees this · backup-bot", "    │ only you"]
    assert channel_label("C0BACKUPS", NAMES) == "#backups"
    assert channel_label("U0CAROL01", NAMES) == "DM with carol"
    demo = Names(users=user_names(), channels=channel_names())
    assert channel_label(dm_channel_id("U0CAROL01"), demo) == "DM with carol"  # a post to U… lands there
    assert channel_label("D0UNKNOWN", demo) == "DM D0UNKNOWN"


# --- forms ----------------------------------------------------------------------------------------

FORM = views.backup_form(default_name="pre-change-20261127-163005", channel_id=CHANNEL_ID, lang="en-us")


def test_the_backup_form_becomes_fields_in_order() -> None:
    fields = fields_of(FORM, NAMES)
    assert title_of(FORM, NAMES) == "Take a backup"
    assert [(f.block_id, f.kind, f.optional) for f in fields] == [
        (views.INSTANCE_BLOCK, "external_select", False),
        (views.NAME_BLOCK, "plain_text_input", False),
        (views.DESCRIPTION_BLOCK, "plain_text_input", True),
        (views.REFERENCE_BLOCK, "plain_text_input", True),
        (views.KEEP_BLOCK, "static_select", False),
        (views.AT_BLOCK, "datetimepicker", True),
    ]
    assert fields[0].external and fields[1].hint.startswith("4–64 characters")
    assert display_blocks(FORM, NAMES) == [t("en-us", "form.intro")]


def test_text_fields_keep_their_default_skip_when_optional_and_check_lengths() -> None:
    _, name, description, *_ = fields_of(FORM, NAMES)
    default = default_of(name, NAMES)
    assert default == (
        "pre-change-20261127-163005",
        {"type": "plain_text_input", "value": "pre-change-20261127-163005"},
    )
    assert answer(description, "") == {"type": "plain_text_input", "value": None}
    assert answer(name, "") == Problem("Backup name is required")
    assert answer(name, "x" * 65) == Problem("type at most 64 characters")
    assert answer(name, "pre-demo-2") == {"type": "plain_text_input", "value": "pre-demo-2"}


def test_select_answers_by_number_exact_name_or_unique_part() -> None:
    instance = fields_of(FORM, NAMES)[0]
    options = [
        Option(n, f"id-{n}", {"text": {"type": "plain_text", "text": n}, "value": f"id-{n}"})
        for n in ("orders-prod", "orders-dev", "analytics-dev")
    ]
    assert pick("2", options) == options[1]
    assert pick("ORDERS-DEV", options) == options[1]
    assert pick("analytics", options) == options[2]
    assert pick("orders", options) == Problem("2 choices match 'orders': type a number or more of the name")
    assert isinstance(pick("nothing", options), Problem)
    value = answer(instance, "orders-dev", options=options)
    assert value == {"type": "external_select", "selected_option": dict(options[1].raw)}
    assert isinstance(value, dict) and shown_value(value, NAMES) == "orders-dev"


def test_options_come_from_option_lists_and_option_groups() -> None:
    grouped = {
        "option_groups": [
            {
                "label": {"type": "plain_text", "text": "g"},
                "options": [{"text": {"type": "plain_text", "text": "A"}, "value": "a"}],
            }
        ],
        "options": [
            {
                "text": {"type": "plain_text", "text": "B"},
                "value": "b",
                "description": {"type": "plain_text", "text": "bee"},
            }
        ],
    }
    found = options_of(grouped, NAMES)
    assert [(o.text, o.value) for o in found] == [("B", "b"), ("A", "a")]
    assert found[0].shown(NAMES) == "B — bee"


def test_pickers_numbers_and_dates_answer_like_slack() -> None:
    def field(kind: str, **element: Any) -> FormField:
        return FormField("b", "a", kind, "Label", False, "", {"type": kind, "action_id": "a", **element})

    people = {"carol": "U0CAROL01"}
    assert answer(field("users_select"), "@carol", people=people) == {
        "type": "users_select",
        "selected_user": "U0CAROL01",
    }
    assert answer(field("conversations_select"), "#backups", channels={"backups": CHANNEL_ID}) == {
        "type": "conversations_select",
        "selected_conversation": CHANNEL_ID,
    }
    assert answer(field("number_input", min_value="1"), "0") == Problem("the smallest allowed is 1")
    assert answer(field("number_input"), "1.5") == Problem("type a whole number")
    assert answer(field("datepicker"), "2026-11-27") == {"type": "datepicker", "selected_date": "2026-11-27"}
    assert isinstance(answer(field("email_text_input"), "nope"), Problem)
    picker = field("conversations_select", default_to_current_conversation=True)
    assert default_of(picker, NAMES, current_conversation=CHANNEL_ID) == (
        "#backups",
        {"type": "conversations_select", "selected_conversation": CHANNEL_ID},
    )


def test_values_merge_into_view_state_shape() -> None:
    name = fields_of(FORM, NAMES)[1]
    merged = merge_values({}, [(name, {"type": "plain_text_input", "value": "x"})])
    assert merged == {views.NAME_BLOCK: {views.NAME_ACTION: {"type": "plain_text_input", "value": "x"}}}


# --- payloads -------------------------------------------------------------------------------------


def test_a_click_carries_what_bolt_and_the_listeners_read() -> None:
    pending = kit.parent_message(request(State.PENDING_APPROVAL))
    message = {
        "channel": CHANNEL_ID,
        "ts": "1700000000.000100",
        "text": pending.text,
        "blocks": pending.blocks,
    }
    [approve, *_] = controls_in(pending.blocks, NAMES)
    carol = find_user("carol")
    assert carol is not None
    payload = payloads.block_actions_in_message(
        user=carol,
        control=approve,
        channel=CHANNEL_ID,
        channel_name="backups",
        message=message,
        ephemeral=False,
        response_url="http://127.0.0.1/response/x",
        trigger_id="1.2.abc",
    )
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U0CAROL01"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1700000000.000100",
        "channel_id": CHANNEL_ID,
        "is_ephemeral": False,
    }
    [action] = payload["actions"]
    assert (action["action_id"], action["value"], action["block_id"]) == (
        kit.APPROVE_ACTION,
        "r-abcdefghjk",
        "decide:r-abcdefghjk",
    )
    assert payload["message"]["ts"] == "1700000000.000100" and payload["response_url"].endswith("/x")
    assert payload["channel"] == {"id": CHANNEL_ID, "name": "backups"} and payload["trigger_id"] == "1.2.abc"


def test_a_submission_carries_the_view_with_its_state() -> None:
    view = {**FORM, "id": "V0000000001", "hash": "1.x"}
    values = {"name": {"name_input": {"type": "plain_text_input", "value": "x"}}}
    payload = payloads.view_submission(user=OSCAR, view=view, values=values, trigger_id="t")
    assert payload["type"] == "view_submission" and payload["view"]["id"] == "V0000000001"
    assert (
        payload["view"]["state"] == {"values": values}
        and payload["view"]["callback_id"] == views.FORM_CALLBACK
    )
    suggestion = payloads.block_suggestion(
        user=OSCAR, view=view, action_id="instance_select", block_id="instance", query="ord"
    )
    assert (suggestion["type"], suggestion["action_id"], suggestion["value"]) == (
        "block_suggestion",
        "instance_select",
        "ord",
    )


# --- demo users and policy ------------------------------------------------------------------------


@pytest.mark.parametrize("user", DEMO_USERS, ids=[u.name for u in DEMO_USERS])
def test_demo_users_hold_the_roles_the_shell_says_they_hold(user: Any) -> None:
    policy = load_policy(DEMO_POLICY)
    expected = {
        "requester": Role.REQUESTER,
        "operator": Role.OPERATOR,
        "approver": Role.APPROVER,
        "": Role.NONE,
    }
    assert role_of(policy, user.id, frozenset()) is expected[user.role]


def test_demo_policy_gates_orders_prod_only_and_the_shell_starts_as_the_operator() -> None:
    policy = load_policy(DEMO_POLICY)
    assert needs_approval(policy, Role.OPERATOR, "orders-prod", seed_id("orders-prod"))
    assert not needs_approval(policy, Role.OPERATOR, "orders-dev", seed_id("orders-dev"))
    assert not needs_approval(policy, Role.OPERATOR, "analytics-dev", seed_id("analytics-dev"))
    assert DEFAULT_USER.role == "operator"
    assert find_user("@Carol") == find_user("U0CAROL01") and find_user("nobody") is None
    assert set(user_names().values()) >= {"alice", "oscar", "carol", "backup-bot"}
