"""The `/backup` grammar: every branch, and a property test over arbitrary text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import rules
from bot.domain.grammar import (
    INSTANCE_NAME_RE,
    USAGE,
    USAGES,
    Audit,
    Command,
    Create,
    Help,
    Invalid,
    List,
    OpenModal,
    Status,
    default_backup_name,
    parse,
    unescape_slack,
)

INSTANCE_ID = "a" * 16 + "B" * 8 + "0123456789ab" + "in07"


def invalid(text: str) -> Invalid:
    result = parse(text)
    assert isinstance(result, Invalid), result
    assert result.problem and result.usage
    return result


# --- open the modal, help -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\t\n", "create", "CREATE", "  Create  "])
def test_empty_text_or_bare_create_opens_the_modal(text: str) -> None:
    assert parse(text) == OpenModal()


@pytest.mark.parametrize("text", ["help", "HELP", " help me please "])
def test_help(text: str) -> None:
    assert parse(text) == Help()


def test_usage_lists_the_contract_commands() -> None:
    for line in (
        "/backup create <instance> <name> [description…]",
        "/backup status <backup-id | request-id>",
        "/backup list <instance> [count]",
        "/backup help",
    ):
        assert line in USAGE
    assert USAGE.splitlines()[0].startswith("/backup ")


# --- create ---------------------------------------------------------------------------------------


def test_create_with_instance_name_and_no_description() -> None:
    assert parse("create prod-db.main pre-release") == Create("prod-db.main", "pre-release", "")


def test_create_with_instance_id() -> None:
    assert parse(f"create {INSTANCE_ID} nightly_01") == Create(INSTANCE_ID, "nightly_01", "")


def test_create_subcommand_is_case_insensitive_and_args_are_not_lowercased() -> None:
    assert parse("CrEaTe DB1 MyName") == Create("DB1", "MyName", "")


def test_whitespace_collapsed_but_description_inner_spacing_kept() -> None:
    text = "  create \t db1    before-deploy     ticket  CHG-42   then   restart   "
    assert parse(text) == Create("db1", "before-deploy", "ticket  CHG-42   then   restart")


def test_description_may_follow_a_newline_after_the_name() -> None:
    assert parse("create db1 before-deploy\nbefore the deploy") == Create(
        "db1", "before-deploy", "before the deploy"
    )


def test_create_without_name_names_the_missing_name() -> None:
    result = invalid("create db1")
    assert "name" in result.problem and "missing" in result.problem
    assert result.usage == USAGES["create"]
    assert "/backup create <instance> <name> [description…]" in result.usage


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("1abc", rules.check_backup_name("1abc")),
        ("abc", rules.check_backup_name("abc")),
        ("a" * 65, rules.check_backup_name("a" * 65)),
        ("bad.name", rules.check_backup_name("bad.name")),
    ],
)
def test_invalid_name_reports_the_rule_message(name: str, expected: str) -> None:
    assert invalid(f"create db1 {name}").problem == expected


@pytest.mark.parametrize("description", ["it's late", 'say "hi"', "a=b", "go!", "x" * 257])
def test_invalid_description_reports_the_rule_message(description: str) -> None:
    result = invalid(f"create db1 good-name {description}")
    assert result.problem == rules.check_description(description)


def test_description_with_an_inner_line_break_is_invalid() -> None:
    result = invalid("create db1 good-name first line\nsecond line")
    assert result.problem == rules.check_description("first line\nsecond line")


def test_slack_escapes_are_undone_before_validation() -> None:
    # The user typed `a & b`, Slack sent `a &amp; b`: the rule must see (and reject) the real `&`.
    result = invalid("create db1 good-name a &amp; b")
    assert result.problem == rules.check_description("a & b")
    assert "&" in result.problem
    assert invalid("create db1 good-name 1 &lt; 2").problem == rules.check_description("1 < 2")


def test_unescape_order_keeps_an_escaped_entity_literal() -> None:
    assert unescape_slack("&amp;lt; &lt;b&gt; &amp;") == "&lt; <b> &"


@pytest.mark.parametrize(
    "token", ["<@U123>", "<#C123|general>", "<http://db.example.com|db.example.com>", "<!channel>"]
)
def test_slack_markup_as_instance_is_invalid_with_a_clear_message(token: str) -> None:
    result = invalid(f"create {token} good-name")
    assert "link or a mention" in result.problem
    assert "instance" in result.problem


def test_slack_markup_as_name_is_invalid_with_a_clear_message() -> None:
    result = invalid("create db1 <mailto:a@b.c|a@b.c>")
    assert "link or a mention" in result.problem
    assert "backup name" in result.problem


def test_user_typed_angle_brackets_arrive_escaped_and_are_still_refused() -> None:
    assert "link or a mention" in invalid("create &lt;db1&gt; good-name").problem


@pytest.mark.parametrize("instance", ["db!", "a" * 65, "db/1", "ダタベース"])
def test_instance_must_be_an_id_or_a_plain_name(instance: str) -> None:
    result = invalid(f"create {instance} good-name")
    assert "instance" in result.problem


def test_instance_name_of_64_characters_is_accepted() -> None:
    assert parse(f"create {'d' * 64} good-name") == Create("d" * 64, "good-name", "")


def test_long_user_text_is_shortened_in_the_problem() -> None:
    result = invalid("create " + "db`" * 100 + " good-name")
    assert len(result.problem) < 200
    assert "`db'" in result.problem


# --- status ---------------------------------------------------------------------------------------


def test_status_with_backup_id() -> None:
    backup_id = "9a3c3ee1d1a94ba9b2a1f2f0e2b4c5d6br07"
    assert parse(f"status {backup_id}") == Status(backup_id)
    assert not Status(backup_id).is_request_id


def test_status_with_request_id() -> None:
    result = parse("STATUS r-abcdefghjk")
    assert result == Status("r-abcdefghjk")
    assert isinstance(result, Status) and result.is_request_id


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("status", "missing"),
        ("status a b", "one backup ID"),
        ("status <@U1>", "link or a mention"),
        ("status -abc", "not a backup ID"),
        ("status a.b", "not a backup ID"),
    ],
)
def test_status_errors(text: str, fragment: str) -> None:
    result = invalid(text)
    assert fragment in result.problem
    assert result.usage == USAGES["status"]


# --- list -----------------------------------------------------------------------------------------


def test_list_default_count() -> None:
    assert parse("list db1") == List("db1", 5)


@pytest.mark.parametrize(("count", "expected"), [("1", 1), ("20", 20), ("007", 7)])
def test_list_count(count: str, expected: int) -> None:
    assert parse(f"List {INSTANCE_ID} {count}") == List(INSTANCE_ID, expected)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("list", "instance is missing"),
        ("list db1 5 extra", "optional count"),
        ("list db1 0", "1 to 20"),
        ("list db1 21", "1 to 20"),
        ("list db1 -3", "1 to 20"),
        ("list db1 five", "1 to 20"),
        ("list db1 ５", "1 to 20"),
        ("list db1 1_0", "1 to 20"),
        ("list db1 " + "9" * 5000, "1 to 20"),
        ("list <@U1>", "link or a mention"),
        ("list db:1", "not an instance ID"),
    ],
)
def test_list_errors(text: str, fragment: str) -> None:
    result = invalid(text)
    assert fragment in result.problem
    assert result.usage == USAGES["list"]


# --- audit ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [("audit", 20), ("AUDIT 1", 1), ("audit 100", 100)])
def test_audit(text: str, expected: int) -> None:
    assert parse(text) == Audit(expected)


@pytest.mark.parametrize("text", ["audit 0", "audit 101", "audit x", "audit 1 2"])
def test_audit_errors(text: str) -> None:
    assert invalid(text).usage == USAGES["audit"]


# --- unknown subcommands --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "suggestion"),
    [("crate", "create"), ("stauts", "status"), ("lsit", "list"), ("hlep", "help"), ("LST", "list")],
)
def test_unknown_subcommand_suggests_the_closest(word: str, suggestion: str) -> None:
    result = invalid(f"{word} db1")
    assert f"did you mean `{suggestion}`" in result.problem
    assert result.usage == USAGE


def test_unknown_subcommand_without_a_close_match_lists_the_subcommands() -> None:
    result = invalid("xyzzy")
    assert "did you mean" not in result.problem
    assert "create, status, list, cancel and help" in result.problem


# --- default names --------------------------------------------------------------------------------


def test_default_backup_name_format_and_validity() -> None:
    name = default_backup_name(datetime(2024, 3, 9, 7, 5, 1, tzinfo=UTC))
    assert name == "pre-change-20240309-070501"
    assert rules.check_backup_name(name) is None


def test_default_backup_name_converts_aware_times_to_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert default_backup_name(datetime(2024, 3, 9, 9, 0, 0, tzinfo=tokyo)) == "pre-change-20240309-000000"
    assert default_backup_name(datetime(2024, 3, 9, 9, 0, 0)) == "pre-change-20240309-090000"


@given(st.datetimes(timezones=st.just(UTC)))
def test_default_backup_name_is_always_valid(now: datetime) -> None:
    assert rules.check_backup_name(default_backup_name(now)) is None


# --- properties -----------------------------------------------------------------------------------

_words = st.sampled_from(
    ["create", "CREATE", "status", "list", "help", "audit", "db1", "good-name", "r-abc", "&amp;", "&lt;"]
)
_texts = st.one_of(
    st.text(),
    st.lists(st.one_of(_words, st.text(min_size=1, max_size=12)), max_size=8).map(" ".join),
    st.tuples(st.text(alphabet="abcdefgh-_.0123", min_size=1), st.text(min_size=4), st.text()).map(
        lambda t: f"create {t[0]} {t[1]} {t[2]}"
    ),
)


@given(_texts)
def test_parse_never_raises_and_every_create_is_valid(text: str) -> None:
    result: Command = parse(text)
    if isinstance(result, Create):
        assert rules.check_backup_name(result.name) is None
        assert rules.check_description(result.description) is None
        assert rules.is_instance_id(result.instance) or INSTANCE_NAME_RE.fullmatch(result.instance)
        assert result.description == result.description.strip()
    if isinstance(result, Invalid):
        assert result.problem and result.usage
    if isinstance(result, List):
        assert 1 <= result.count <= 20
    if isinstance(result, Audit):
        assert 1 <= result.count <= 100
