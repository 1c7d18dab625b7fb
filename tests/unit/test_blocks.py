"""Block Kit builders and text safety: valid for slack_sdk, within Slack's limits, nothing live leaks —
in every language the bot speaks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.app import notices
from bot.app.people import People
from bot.cloud.models import BackupRecord, BackupStatus, Instance
from bot.domain.audit import AuditAction
from bot.domain.gates import Refusal
from bot.domain.grammar import USAGE, USAGES
from bot.domain.request import GAVE_UP, BackupRequest, State
from bot.i18n import CATALOGS, LANGUAGES
from bot.slack.render import states as kit
from bot.slack.render.answers import (
    already_decided,
    ambiguous_instance,
    audit_list,
    audit_not_allowed,
    backup_list_message,
    cannot_decide,
    cloud_error,
    error_ephemeral,
    gave_up_not_in_channel,
    help_message,
    instance_not_found,
    invite_hint,
    looking_up,
    no_role,
    notice,
    received,
    record_status,
    request_gone,
    status_message,
    unavailable,
)
from bot.slack.render.pieces import Message
from bot.slack.render.request import busy_notice, created_reply, decision_reply, final_reply, parent_message
from bot.slack.render.text import escape, format_duration, format_size, format_time
from bot.slack.render.views import instance_options

EVIL = "<!channel> <@U123> <http://evil|x> & stuff"
LANGS = list(LANGUAGES)
EN = "en-us"
INSTANCE_ID = "0123456789abcdef0123456789abcdefin07"
BEGIN = datetime(2024, 3, 9, 7, 5, 1, tzinfo=UTC)

# What may legitimately be live in our output: mentions of the people in the fixtures and date tokens.
_ALLOWED_TOKEN = re.compile(
    r"<@(?:UREQ1|UAPPROVER)>|<#C1>|<!date\^\d+\^\{date_short_pretty\} \{time\}\|[^<>|]*>"
)
_BARE_AMP = re.compile(r"&(?!amp;|lt;|gt;)")


def request(state: State = State.BUILDING, **changes: Any) -> BackupRequest:
    values: dict[str, Any] = {
        "id": "r-abcdefghjk",
        "state": state,
        "created_at": BEGIN - timedelta(minutes=1),
        "channel_id": "C1",
        "user_id": "UREQ1",
        "instance_ref": "prod-main",
        "instance_id": INSTANCE_ID,
        "instance_name": "prod-main",
        "backup_name": "pre-release-42",
        "description": "before the schema change",
        "reference": "CHG-1234",
        "backup_id": "9a3c3ee1d1a94ba9b2a1f2f0e2b4c5d6br07",
        "job_id": "a1b2c3d4-0000-4000-8000-000000000001",
        "begin_time": BEGIN,
        "end_time": BEGIN + timedelta(minutes=1, seconds=5),
        "size_mb": 1536.0,
        "progress": 40,
        "error_code": "DBS.200019",
        "error_msg": "The instance is being backed up.",
        "decided_by": "UAPPROVER",
        "decision_reason": "not during the freeze",
        "expires_at": BEGIN + timedelta(minutes=30),
    }
    values.update(changes)
    return BackupRequest(**values)


def record(status: BackupStatus = BackupStatus.COMPLETED, **changes: Any) -> BackupRecord:
    values: dict[str, Any] = {
        "id": "9a3c3ee1d1a94ba9b2a1f2f0e2b4c5d6br07",
        "name": "pre-release-42",
        "description": "before the schema change",
        "instance_id": INSTANCE_ID,
        "instance_name": "prod-main",
        "begin_time": BEGIN,
        "end_time": BEGIN + timedelta(minutes=2),
        "take_up_time": 2,
        "status": status,
        "size": 2048,
    }
    values.update(changes)
    return BackupRecord(**values)


def all_messages(req: BackupRequest) -> list[Message]:
    lang = req.language
    messages = [
        parent_message(req),
        parent_message(req, ["<@UAPPROVER>"]),
        created_reply(req),
        decision_reply(req),
        status_message(req, lang=lang),
        received(req, lang=lang),
        already_decided(req, lang=lang),
        invite_hint(req),
        gave_up_not_in_channel(req),
        busy_notice(req, req.error_msg),
        busy_notice(req, ""),
    ]
    if req.state.final:
        messages.append(final_reply(req, timeout_s=3600))
    return messages


def strings(node: object) -> Iterator[str]:
    """Every string in a JSON-like tree, keys excluded."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def assert_valid(message: Message) -> None:
    assert message.text.strip(), "a top-level text fallback is always present"
    assert len(message.text) <= 4000
    assert 1 <= len(message.blocks) <= 50
    for raw in message.blocks:
        parsed = Block.parse(raw)
        assert parsed is not None, raw
        parsed.validate_json()
        assert parsed.to_dict() == raw
        # limits slack_sdk does not check itself
        for field in raw.get("fields", []):
            assert len(field["text"]) <= 2000
        if raw["type"] == "section":
            assert "text" in raw or raw.get("fields")
            assert len(raw.get("fields", [])) <= 10
    assert message.as_kwargs() == {"text": message.text, "blocks": message.blocks}


def assert_inert(message: Message) -> None:
    for text in strings({"text": message.text, "blocks": message.blocks}):
        remaining = _ALLOWED_TOKEN.sub("", text)
        assert "<" not in remaining and ">" not in remaining, text
        assert not _BARE_AMP.search(text), text


# --- text.py --------------------------------------------------------------------------------------


def test_escape_the_three_characters_ampersand_first() -> None:
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape("&lt;") == "&amp;lt;"
    assert escape(EVIL) == "&lt;!channel&gt; &lt;@U123&gt; &lt;http://evil|x&gt; &amp; stuff"


def test_format_time_uses_slack_date_token_with_utc_fallback() -> None:
    assert format_time(BEGIN) == "<!date^1709967901^{date_short_pretty} {time}|2024-03-09 07:05:01 UTC>"


def test_format_time_naive_is_utc_and_fallback_zone_is_configurable() -> None:
    assert format_time(BEGIN.replace(tzinfo=None)) == format_time(BEGIN)
    shanghai = timezone(timedelta(hours=8), "CST")
    assert format_time(BEGIN, shanghai).endswith("|2024-03-09 15:05:01 CST>")


class _Nameless(tzinfo):
    """A zone that has no name (``tzname`` is None): the fallback then ends with the time."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=-3, minutes=-30)

    def tzname(self, dt: datetime | None) -> None:
        return None

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)


@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
    st.sampled_from(
        [UTC, timezone(timedelta(hours=8), "CST"), timezone(timedelta(hours=5, minutes=45)), _Nameless()]
    ),
)
def test_format_time_fallback_reads_as_strftime_would(when: datetime, zone: tzinfo) -> None:
    """The fallback is formatted by hand (strftime costs several times as much): it says exactly
    what ``strftime("%Y-%m-%d %H:%M:%S %Z")`` says, in any zone, named or not."""
    expected = when.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    assert format_time(when, zone).endswith(f"|{escape(expected)}>")


@pytest.mark.parametrize(
    ("mb", "expected"),
    [
        (None, "unknown"),
        (float("nan"), "unknown"),
        (-1, "unknown"),
        (0, "0 MB"),
        (0.4, "0.4 MB"),
        (512, "512 MB"),
        (1536, "1.5 GB"),
        (1024 * 1024 * 2, "2 TB"),
        (1024**4, "1024 PB"),
        (1024**5, "1048576 PB"),
    ],
)
def test_format_size(mb: float | None, expected: str) -> None:
    assert format_size(mb) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-5, "0 s"),
        (0, "0 s"),
        (0.4, "0 s"),
        (45, "45 s"),
        (60, "1 min"),
        (65, "1 min 5 s"),
        (3600, "1 h"),
        (3723, "1 h 2 min"),
        (86400 + 4 * 3600 + 59, "1 d 4 h"),
        (float("inf"), "unknown"),
    ],
)
def test_format_duration(seconds: float, expected: str) -> None:
    assert format_duration(seconds) == expected


# --- every builder is valid Block Kit -------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("state", list(State))
def test_request_messages_are_valid_in_every_state(state: State, lang: str) -> None:
    for message in all_messages(request(state, language=lang)):
        assert_valid(message)
        assert_inert(message)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("state", list(State))
def test_request_messages_with_minimal_fields_are_valid(state: State, lang: str) -> None:
    minimal = BackupRequest(
        channel_id="C1", user_id="UREQ1", instance_ref="db1", backup_name="abcd", state=state, language=lang
    )
    for message in all_messages(minimal):
        assert_valid(message)
        assert_inert(message)


def command_replies(lang: str) -> list[Message]:
    many = [record(name=f"b-{i:03d}") for i in range(60)]
    return [
        error_ephemeral("the backup name is missing", USAGES["create"], lang=lang),
        error_ephemeral("something broke", None, lang=lang),
        cloud_error("HTTP 503 DBS.108000: busy", lang=lang),
        help_message(
            USAGE, ["Policy: open default, everyone is an operator.", "Ask <@UAPPROVER>."], lang=lang
        ),
        help_message(USAGE, [], lang=lang),
        looking_up(lang=lang),
        unavailable(lang=lang),
        instance_not_found("prod-mian", ["prod-main", "prod-main-2"], lang=lang),
        instance_not_found("nothing-like-it", [], lang=lang),
        ambiguous_instance(
            "prod-main", [(INSTANCE_ID, "prod-main"), ("b" * 32 + "in07", "prod-main")], lang=lang
        ),
        busy_notice(request(State.CREATING, language=lang), ""),
        status_message(record(), lang=lang),
        status_message(record(BackupStatus.BUILDING, end_time=None, take_up_time=None, size=None), lang=lang),
        status_message(record(BackupStatus.FAILED, fail_reason="disk full", instance_name=None), lang=lang),
        backup_list_message(
            "prod-main", [record(), record(BackupStatus.BUILDING, begin_time=None)], lang=lang
        ),
        backup_list_message("prod-main", [], lang=lang),
        backup_list_message("prod-main", many, lang=lang),
        no_role(People(("UAPPROVER",)), lang=lang),
        no_role(People(), lang=lang),
        cannot_decide(Refusal.OWN_REQUEST, People(), lang=lang),
        cannot_decide(Refusal.NOT_AN_APPROVER, People(("UAPPROVER",)), lang=lang),
        request_gone(lang=lang),
        audit_not_allowed(lang=lang),
        audit_list([], lang=lang),
        audit_list(["a line", "another line"], lang=lang),
    ]


@pytest.mark.parametrize("lang", LANGS)
def test_command_replies_are_valid(lang: str) -> None:
    for message in command_replies(lang):
        assert_valid(message)
        assert_inert(message)


def test_long_lists_stay_under_the_block_limit_and_say_how_many_more() -> None:
    message = backup_list_message("prod-main", [record(name=f"b-{i:03d}") for i in range(60)], lang=EN)
    assert len(message.blocks) <= 50
    assert "20 more" in str(message.blocks[-1])


# --- user text is never live ----------------------------------------------------------------------


def evil_request(state: State) -> BackupRequest:
    return request(
        state,
        instance_ref=EVIL,
        instance_name=EVIL,
        backup_name=EVIL,
        description=EVIL,
        reference=EVIL,
        error_code=EVIL,
        error_msg=EVIL,
        decision_reason=EVIL,
        job_id=EVIL,
        backup_id=EVIL,
    )


@pytest.mark.parametrize("state", list(State))
def test_evil_text_in_every_user_field_is_escaped(state: State) -> None:
    for message in all_messages(evil_request(state)):
        assert_valid(message)
        assert_inert(message)
        dumped = str({"text": message.text, "blocks": message.blocks})
        assert "<!channel>" not in dumped and "<@U123>" not in dumped and "<http://evil" not in dumped
        assert " & stuff" not in dumped


def test_evil_text_without_instance_name_falls_back_to_the_escaped_reference() -> None:
    message = parent_message(
        evil_request(State.RECEIVED).model_copy(update={"instance_name": "", "instance_id": ""})
    )
    assert_inert(message)
    assert escape(EVIL) in str(message.blocks)


def test_evil_user_ids_are_not_turned_into_mentions() -> None:
    message = parent_message(request(State.APPROVED, user_id=EVIL, decided_by="<!here>"))
    assert_inert(message)


@pytest.mark.parametrize("lang", LANGS)
def test_evil_text_in_cloud_records_and_errors_is_escaped(lang: str) -> None:
    evil_record = record(
        BackupStatus.FAILED, name=EVIL, description=EVIL, instance_name=EVIL, fail_reason=EVIL, id=EVIL
    )
    for message in (
        status_message(evil_record, lang=lang),
        backup_list_message(EVIL, [evil_record], lang=lang),
        error_ephemeral(EVIL, EVIL, lang=lang),
        cloud_error(EVIL, lang=lang),
        instance_not_found(EVIL, [EVIL], lang=lang),
        ambiguous_instance(EVIL, [(EVIL, EVIL)], lang=lang),
        busy_notice(request(State.CREATING, language=lang), EVIL),
        invite_hint(request(State.RECEIVED, channel_id=EVIL, language=lang)),
        help_message(escape(EVIL), [], lang=lang),
    ):
        assert_valid(message)
        assert_inert(message)


@given(st.text(max_size=600))
def test_any_description_is_inert_and_valid(text: str) -> None:
    message = parent_message(request(State.BUILDING, description=text, reference=text, instance_name=text))
    assert_valid(message)
    assert_inert(message)


def test_usage_placeholders_are_escaped_not_links() -> None:
    message = error_ephemeral("the instance is missing", USAGES["list"], lang=EN)
    assert "&lt;instance&gt;" in str(message.blocks)


# --- content per state ----------------------------------------------------------------------------


def texts(message: Message) -> str:
    return "\n".join(strings({"text": message.text, "blocks": message.blocks}))


def test_parent_message_has_the_request_fields() -> None:
    req = request(State.BUILDING)
    message = parent_message(req)
    body = texts(message)
    for label in ("*Requested by*", "*Instance*", "*Backup name*", "*State*", "*Reference*", "*Backup ID*"):
        assert label in body
    assert "<@UREQ1>" in body
    assert f"prod-main (`{INSTANCE_ID}`)" in body
    assert "`pre-release-42`" in body
    assert "before the schema change" in body
    assert "CHG-1234" in body
    assert "▰▰▰▰▱▱▱▱▱▱ 40%" in body
    assert message.blocks[0]["type"] == "header"
    assert "in progress" in message.blocks[0]["text"]["text"]
    context = message.blocks[-1]
    assert context["type"] == "context"
    assert "`r-abcdefghjk`" in context["elements"][0]["text"]


def test_parent_message_progress_before_the_first_report() -> None:
    assert "waiting for the first report" in texts(parent_message(request(State.BUILDING, progress=None)))


def test_parent_message_hides_backup_id_until_known_and_optional_fields_when_empty() -> None:
    body = texts(parent_message(request(State.CREATING, backup_id="", reference="", description="")))
    assert "*Backup ID*" not in body
    assert "*Reference*" not in body
    assert "*Description*" not in body
    assert "Progress" not in body


@pytest.mark.parametrize(
    ("state", "present", "absent"),
    [
        (State.RECEIVED, [":inbox_tray: received"], ["*Size*", "Progress", "*Approved by*"]),
        (State.PENDING_APPROVAL, ["Waiting for an approver", "<!date^"], ["*Approved by*"]),
        (State.APPROVED, ["*Approved by*\n<@UAPPROVER>"], ["*Size*"]),
        (State.REJECTED, ["*Rejected by*\n<@UAPPROVER>"], ["*Size*"]),
        (State.EXPIRED, [":hourglass: expired"], ["*Approved by*"]),
        (State.CREATING, [":gear: starting"], ["Progress"]),
        (State.BUILDING, ["Progress", "40%"], ["*Size*"]),
        (State.COMPLETED, ["*Size*\n1.5 GB", "*Duration*\n1 min 5 s"], ["Progress", "*Reason*"]),
        (
            State.FAILED,
            ["*Reason*\nThe instance is being backed up.", "*Error code*\n`DBS.200019`"],
            ["*Size*"],
        ),
        (State.CREATE_FAILED, ["*Reason*", "`DBS.200019`", "refused by the cloud"], ["*Size*"]),
        (State.TIMED_OUT, [":alarm_clock: still running"], ["*Size*", "*Reason*"]),
    ],
)
def test_parent_message_fields_per_state(state: State, present: list[str], absent: list[str]) -> None:
    body = texts(parent_message(request(state)))
    for fragment in present:
        assert fragment in body, fragment
    for fragment in absent:
        assert fragment not in body, fragment


@pytest.mark.parametrize("lang", LANGS)
def test_a_request_given_up_on_before_the_cloud_never_reads_as_refused_by_it(lang: str) -> None:
    gave_up = request(State.CREATE_FAILED, error_code=GAVE_UP, error_msg="unreadable work", backup_id="")
    message = parent_message(gave_up, lang=lang)
    body = texts(message) + message.text
    assert CATALOGS[lang]["parent.gave_up"] in body
    assert CATALOGS[lang]["state.CREATE_FAILED"] not in body


def test_pending_without_expiry_still_says_it_waits() -> None:
    assert "Waiting for an approver" in texts(
        parent_message(request(State.PENDING_APPROVAL, expires_at=None))
    )


@pytest.mark.parametrize("state", [State.PENDING_APPROVAL, State.SCHEDULED])
@pytest.mark.parametrize("notify", ["channel", "dm", "both"])
def test_a_copy_without_buttons_says_the_same_and_offers_nothing(state: State, notify: str) -> None:
    """``/backup status`` answers with a copy the bot never updates: buttons there would be refused."""
    req = request(state, notify=notify, break_glass_allowed=True, approvers=["UAPPROVER"])
    live, copy = parent_message(req, lang=EN), parent_message(req, lang=EN, buttons=False)
    assert [b["type"] for b in live.blocks].count("actions") >= 1
    assert [b for b in live.blocks if b["type"] != "actions"] == copy.blocks
    assert copy.text == live.text
    assert_valid(copy)
    # the same copy whichever process answers: the web's own, and a worker's after asking Slack
    assert status_message(req, lang=EN) == copy
    assert notice(notices.RequestStatus(req), lang=EN) == copy


def test_the_type_ahead_shows_regions_when_the_fleet_has_several_not_when_the_cache_does() -> None:
    """A fleet of two regions whose second could not be listed caches one region's instances: they
    are still shown as ``<region>/<name>``, as everywhere else the bot shows an instance."""
    east = [
        Instance.model_validate(
            {"id": f"{i}" * 32 + "in07", "name": name, "status": "ACTIVE", "region": "ap-1"}
        )
        for i, name in enumerate(("orders-prod", "orders-dev"))
    ]
    labels = [o["text"]["text"] for o in instance_options(east, "orders", lang=EN, show_region=True)]
    assert labels == ["ap-1/orders-dev", "ap-1/orders-prod"]
    assert [o["value"] for o in instance_options(east, "ap-1/orders-p", lang=EN, show_region=True)] == [
        east[0].id
    ]
    plain = [o["text"]["text"] for o in instance_options(east, "", lang=EN, show_region=False)]
    assert plain == ["orders-dev", "orders-prod"]


def test_created_reply_has_ids_and_start_time() -> None:
    body = texts(created_reply(request(State.BUILDING)))
    assert "`9a3c3ee1d1a94ba9b2a1f2f0e2b4c5d6br07`" in body
    assert "`a1b2c3d4-0000-4000-8000-000000000001`" in body
    assert format_time(BEGIN) in body


def test_created_reply_without_start_time() -> None:
    assert "*Started*\nunknown" in texts(created_reply(request(State.BUILDING, begin_time=None)))


def test_final_reply_completed_mentions_requester_with_size_and_duration() -> None:
    message = final_reply(request(State.COMPLETED))
    assert message.text.startswith("<@UREQ1> ")
    body = texts(message)
    assert "1.5 GB" in body and "1 min 5 s" in body and "*Finished*" in body


def test_final_reply_completed_with_unknown_times() -> None:
    body = texts(final_reply(request(State.COMPLETED, end_time=None, size_mb=None)))
    assert "*Duration*\nunknown" in body and "*Size*\nunknown" in body


@pytest.mark.parametrize("state", [State.FAILED, State.CREATE_FAILED])
def test_final_reply_failures_give_reason_and_code(state: State) -> None:
    message = final_reply(request(state, cloud_request_id="req-77"))
    assert message.text.startswith("<@UREQ1> ")
    body = texts(message)
    assert "The instance is being backed up." in body
    assert "`DBS.200019`" in body
    assert "`req-77`" in body


def test_final_reply_failure_without_reason() -> None:
    body = texts(final_reply(request(State.FAILED, error_msg="", error_code="")))
    assert "the cloud gave no reason" in body
    assert "*Error code*" not in body


def test_final_reply_timed_out_says_the_bot_keeps_watching() -> None:
    message = final_reply(request(State.TIMED_OUT), timeout_s=3600)
    body = texts(message)
    assert "still running after 1 h" in message.text
    assert "keeps watching" in body and "real result" in body
    assert "40%" in body
    assert "the usual time" in final_reply(request(State.TIMED_OUT, progress=None)).text


def test_final_reply_rejected_and_expired() -> None:
    rejected = texts(final_reply(request(State.REJECTED)))
    assert "<@UAPPROVER>" in rejected and "not during the freeze" in rejected
    assert "nothing was created" in final_reply(request(State.EXPIRED)).text


@pytest.mark.parametrize("state", [s for s in State if not s.final])
def test_final_reply_refuses_unfinished_requests(state: State) -> None:
    with pytest.raises(ValueError, match="final state"):
        final_reply(request(state))


def test_error_ephemeral_shows_problem_and_usage() -> None:
    message = error_ephemeral("the backup name is missing", USAGES["create"], lang=EN)
    assert message.text == ":warning: the backup name is missing"
    assert "```" in texts(message)
    assert len(error_ephemeral("x", lang=EN).blocks) == 1


def test_help_message_shows_usage_and_notes() -> None:
    message = help_message(USAGE, ["Running against the *simulator*.", "Ask <@UAPPROVER>."], lang=EN)
    body = texts(message)
    assert "/backup list &lt;instance&gt; [count]" in body
    assert "• Running against the *simulator*." in body
    assert "• Ask <@UAPPROVER>." in body


def test_status_message_for_a_record() -> None:
    body = texts(status_message(record(), lang=EN))
    assert "completed" in body and "2 GB" in body and "*Duration*\n2 min" in body
    building = texts(status_message(record(BackupStatus.BUILDING, end_time=None, size=None), lang=EN))
    assert "*Size*" not in building and "*Finished*" not in building
    failed_record = record(BackupStatus.FAILED, take_up_time=None, fail_reason="disk full")
    failed = texts(status_message(failed_record, lang=EN))
    assert "*Reason*\ndisk full" in failed and "*Duration*\n2 min" in failed


def test_status_message_for_a_request_is_the_request_view_in_the_askers_language() -> None:
    req = request(State.COMPLETED)
    assert status_message(req, lang=EN) == parent_message(req)
    assert status_message(req, lang="zh-cn") == parent_message(req, lang="zh-cn")
    assert status_message(req, lang="zh-cn") != parent_message(req)


def test_backup_list_message_lines() -> None:
    message = backup_list_message("prod-main", [record(), record(BackupStatus.BUILDING, size=None)], lang=EN)
    body = texts(message)
    assert "*Latest backups of prod-main* (2)" in body
    assert "`pre-release-42`" in body and "2 GB" in body and "in progress" in body
    assert "No backups found" in backup_list_message("prod-main", [], lang=EN).text


def test_every_state_status_and_audit_action_has_its_presentation() -> None:
    """A new state (or status, or audit action) must be given an emoji, an icon and words in every
    language before anything can show it: this fails the moment one is missing anywhere."""
    assert set(kit.STATE_EMOJI) == set(State)
    assert set(kit.STATUS_EMOJI) == set(BackupStatus)
    assert set(kit.AUDIT_ICONS) == set(AuditAction)
    for lang in LANGUAGES:
        for state in State:
            assert kit.state_word(state, lang) and kit.state_label(state, lang).startswith(":")
        for status in BackupStatus:
            assert kit.status_word(status, lang)
        for action in AuditAction:
            assert CATALOGS[lang][f"auditlog.{action.value}"]


def test_received_says_where_progress_appears_and_whether_approval_is_needed() -> None:
    body = texts(received(request(State.RECEIVED, needs_approval=False), lang=EN))
    assert "`r-abcdefghjk`" in body and "`pre-release-42`" in body and "<#C1>" in body
    assert "approver" not in body
    approval = received(request(State.RECEIVED, needs_approval=True), lang=EN)
    assert "approver has to approve" in texts(approval)


def test_notices() -> None:
    assert "Looking that up" in looking_up(lang=EN).text
    assert "nothing was recorded" in unavailable(lang=EN).text
    suggestion = texts(instance_not_found("prod-mian", ["prod-main", "prod-main-2"], lang=EN))
    assert "`prod-mian`" in suggestion and "Did you mean `prod-main`, `prod-main-2`?" in suggestion
    assert "Did you mean" not in texts(instance_not_found("zzz", [], lang=EN))
    assert "/invite @backup-bot" in invite_hint(request(State.RECEIVED)).text
    gave_up = gave_up_not_in_channel(request(State.EXPIRED)).text
    assert "<#C1>" in gave_up and "no backup was made" in gave_up
    assert (
        "(The instance is being backed up.)"
        in busy_notice(request(State.CREATING), "The instance is being backed up.").text
    )
    assert "another operation is running" in busy_notice(request(State.CREATING), "").text


def test_record_status_is_the_status_of_a_record() -> None:
    assert record_status(record(), lang=EN) == status_message(record(), lang=EN)
