"""The policy file (DESIGN.md §5): parsing with line-precise errors, the decisions, and fuzzing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app.people import Group, People
from bot.domain.gates import Refusal, can_decide, members_holding, needs_approval
from bot.domain.policy import (
    MAX_EXPIRES_AFTER,
    Notify,
    Policy,
    Role,
    member_problem,
    members_needing_groups,
    role_of,
)
from bot.domain.policy_file import PolicyError, load_policy, parse_policy
from bot.slack.render.policy import describe, mentions


def who_can_help(policy: Policy, role: Role) -> list[str]:
    """The members holding ``role``, as the Slack adapter mentions them (groups not synced yet)."""
    members = members_holding(policy, role)
    return mentions(People(tuple(Group(m[1:]) if m.startswith("@") else m for m in members)))


# The example from DESIGN.md §5, verbatim (comments included).
DESIGN_EXAMPLE = """\
roles:                       # members: "*" (everyone), "@handle" (Slack user group), or a user ID
  requester: ["*"]           # may ask; every backup they ask for needs an approval
  operator: ["@db-oncall"]   # creates directly, except on instances in approval.required_for
  approver: ["@db-managers", "U0123ABCDE"]  # approves/rejects others' requests; creates like an operator
approval:
  required_for: ["*prod*"]   # fnmatch globs on instance name or ID: everyone needs an approver here
  expires_after: 1800        # seconds a pending request stays approvable
  allow_self_approval: false # an approver never approves their own request unless this is true
"""

PROD_ID = "0123456789abcdef0123456789ABCDEFin07"
NOBODY: frozenset[str] = frozenset()


@pytest.fixture
def policy() -> Policy:
    return parse_policy(DESIGN_EXAMPLE, "policy.yaml")


def error(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policy.yaml")
    return caught.value


# --- parsing the contract ---------------------------------------------------------------------------


def test_design_example_parses(policy: Policy) -> None:
    assert policy.roles == {
        Role.VIEWER: (),
        Role.REQUESTER: ("*",),
        Role.OPERATOR: ("@db-oncall",),
        Role.APPROVER: ("@db-managers", "U0123ABCDE"),
    }
    assert policy.required_for == ("*prod*",)
    # The features a round-one file does not mention keep today's meaning.
    assert policy.rules == () and policy.break_glass == () and policy.notify is Notify.CHANNEL
    assert policy.guests_allowed is False
    assert policy.expires_after == 1800
    assert policy.allow_self_approval is False
    assert policy.is_default is False


def test_block_style_lists_and_defaults() -> None:
    policy = parse_policy("roles:\n  operator:\n    - '@db-oncall'\n    - W0123ABCDE\n")
    assert policy.members(Role.OPERATOR) == ("@db-oncall", "W0123ABCDE")
    assert policy.members(Role.REQUESTER) == ()
    assert (policy.required_for, policy.expires_after, policy.allow_self_approval) == ((), 1800, False)


def test_duplicate_members_are_kept_once() -> None:
    policy = parse_policy("roles: {operator: ['U1AB', '@ops', 'U1AB']}")
    assert policy.members(Role.OPERATOR) == ("U1AB", "@ops")


def test_load_policy_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(DESIGN_EXAMPLE, encoding="utf-8")
    assert load_policy(path) == parse_policy(DESIGN_EXAMPLE)


def test_load_policy_names_the_file_on_errors(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(DESIGN_EXAMPLE.replace('"@db-oncall"', '"db-oncall"'), encoding="utf-8")
    with pytest.raises(PolicyError, match=rf"^{path} line 3: roles\.operator: "):
        load_policy(path)
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "missing.yaml")
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path)
    path.write_bytes(b"roles:\n  operator: ['\xff']\n")
    with pytest.raises(PolicyError, match=r"line 2: the policy file is not UTF-8 text"):
        load_policy(path)


def test_open_default() -> None:
    default = Policy.open_default()
    assert default.is_default
    assert role_of(default, "U1AB", NOBODY) is Role.OPERATOR
    assert not needs_approval(default, Role.OPERATOR, "orders-prod", PROD_ID)
    assert not needs_approval(default, Role.REQUESTER, "orders-prod", PROD_ID)
    open_default = "No policy file: everyone may take backups directly (open default)."
    assert describe(default, "en-us") == [open_default]
    assert members_needing_groups(default) == set()


# --- roles ------------------------------------------------------------------------------------------


def test_highest_role_wins(policy: Policy) -> None:
    assert role_of(policy, "U0123ABCDE", NOBODY) is Role.APPROVER  # also "*" → requester
    assert role_of(policy, "U9", frozenset({"db-oncall"})) is Role.OPERATOR
    assert role_of(policy, "U9", frozenset({"db-oncall", "db-managers"})) is Role.APPROVER


def test_star_gives_requester(policy: Policy) -> None:
    assert role_of(policy, "U0SOMEONE", NOBODY) is Role.REQUESTER


def test_group_handles_may_come_with_or_without_at(policy: Policy) -> None:
    assert role_of(policy, "U9", frozenset({"@db-managers"})) is Role.APPROVER


def test_no_role_without_a_matching_member() -> None:
    policy = parse_policy("roles: {operator: ['@db-oncall'], approver: [U0123ABCDE]}")
    assert role_of(policy, "U0OTHER", frozenset({"db-other"})) is Role.NONE
    assert role_of(policy, "u0123abcde", NOBODY) is Role.NONE  # user IDs match exactly


def test_members_needing_groups(policy: Policy) -> None:
    assert members_needing_groups(policy) == {"db-oncall", "db-managers"}


def test_role_order() -> None:
    assert Role.NONE < Role.REQUESTER < Role.OPERATOR < Role.APPROVER


# --- approvals --------------------------------------------------------------------------------------


def test_requester_always_needs_approval(policy: Policy) -> None:
    assert needs_approval(policy, Role.REQUESTER, "orders-dev", "x" * 32 + "in07")
    assert needs_approval(policy, Role.NONE, "orders-dev", "")


def test_required_for_matches_the_name(policy: Policy) -> None:
    assert needs_approval(policy, Role.OPERATOR, "orders-prod-1", "a" * 32 + "in07")
    assert needs_approval(policy, Role.APPROVER, "orders-prod-1", "a" * 32 + "in07")
    assert not needs_approval(policy, Role.OPERATOR, "orders-dev", "a" * 32 + "in07")
    assert not needs_approval(policy, Role.APPROVER, "orders-dev", "")


def test_required_for_matches_the_id() -> None:
    policy = parse_policy(f"roles: {{approver: [U0123ABCDE]}}\napproval: {{required_for: ['{PROD_ID}']}}")
    assert needs_approval(policy, Role.OPERATOR, "anything", PROD_ID)
    assert not needs_approval(policy, Role.OPERATOR, "anything", "b" * 32 + "in07")


def test_required_for_ignores_case(policy: Policy) -> None:
    assert needs_approval(policy, Role.OPERATOR, "orders-PROD", "")


def test_an_empty_name_is_not_matched_by_a_catch_all_glob() -> None:
    policy = parse_policy("roles: {approver: [U0123ABCDE]}\napproval: {required_for: ['orders*']}")
    assert not needs_approval(policy, Role.OPERATOR, "", "b" * 32 + "in07")


def test_only_approvers_decide(policy: Policy) -> None:
    for role in (Role.NONE, Role.REQUESTER, Role.OPERATOR):
        verdict = can_decide(policy, role, "U0ALICE", "U0BOB")
        assert not verdict.allowed and not verdict
        assert verdict.reason is Refusal.NOT_AN_APPROVER
    verdict = can_decide(policy, Role.APPROVER, "U0ALICE", "U0BOB")
    assert verdict.allowed and verdict.reason is None


def test_self_approval_refused_unless_allowed(policy: Policy) -> None:
    verdict = can_decide(policy, Role.APPROVER, "U0ALICE", "U0ALICE")
    assert verdict.reason is Refusal.OWN_REQUEST
    assert Refusal("own_request") is Refusal.OWN_REQUEST
    allowing = parse_policy(DESIGN_EXAMPLE.replace("allow_self_approval: false", "allow_self_approval: true"))
    assert allowing.allow_self_approval
    assert can_decide(allowing, Role.APPROVER, "U0ALICE", "U0ALICE").allowed
    assert can_decide(allowing, Role.OPERATOR, "U0ALICE", "U0ALICE").reason is Refusal.NOT_AN_APPROVER


# --- words ------------------------------------------------------------------------------------------


def test_who_can_help(policy: Policy) -> None:
    assert who_can_help(policy, Role.APPROVER) == ["@db-managers", "<@U0123ABCDE>"]
    assert who_can_help(policy, Role.OPERATOR) == ["@db-oncall", "@db-managers", "<@U0123ABCDE>"]
    # "*" is never turned into a mention of everyone
    assert all("*" not in who and "!" not in who for who in who_can_help(policy, Role.NONE))
    # a synced group is mentioned as itself, so the whole group is notified
    assert mentions(People((Group("db-managers", "S0123"), "U0123ABCDE"))) == [
        "<!subteam^S0123>",
        "<@U0123ABCDE>",
    ]


def test_describe(policy: Policy) -> None:
    lines = describe(policy, "en-us")
    assert "Approval is required for instances matching `*prod*`; requests expire after 30 min." in lines
    assert "Nobody approves their own request." in lines
    assert any(line.startswith("Requesters (everyone)") for line in lines)
    assert any("@db-managers, <@U0123ABCDE>" in line for line in lines)


def test_describe_without_requesters_or_globs() -> None:
    lines = describe(parse_policy("roles: {operator: ['@ops']}"), "en-us")
    assert lines == [
        "Operators (@ops) take backups directly.",
        "Nothing needs an approval.",
        "Looking backups up (status, list) needs a role too.",
        "Slack guests hold no role unless the policy names them by user ID.",
        "Anyone else is refused.",
    ]


def test_describe_escapes_globs() -> None:
    policy = parse_policy("roles: {approver: [U0ABC]}\napproval: {required_for: ['<!channel>&*']}")
    assert any("`&lt;!channel&gt;&amp;*`" in line for line in describe(policy, "en-us"))
    assert not any("<!channel>" in line for line in describe(policy, "en-us"))


# --- malformed files: the right line, the right key ------------------------------------------------

MALFORMED = [
    # (description, text, line, fragments expected in the message)
    (
        "member without @",
        DESIGN_EXAMPLE.replace('"@db-oncall"', '"db-oncall"'),
        3,
        ['roles.operator: "db-oncall" is not "*", an "@handle" or a user ID like U0123ABCDE', '"@db-oncall"'],
    ),
    (
        "unknown role",
        DESIGN_EXAMPLE.replace("  approver:", "  admin:"),
        4,
        ['roles: "admin" is not a role', "requester, operator, approver"],
    ),
    (
        "unknown top-level key",
        DESIGN_EXAMPLE + "approvals: {}\n",
        9,
        ['"approvals" is not a top-level key', "roles, approval", "did you mean approval?"],
    ),
    (
        "unknown approval key",
        DESIGN_EXAMPLE.replace("expires_after", "expire_after"),
        7,
        ['approval: "expire_after" is not a key', "required_for, expires_after, allow_self_approval"],
    ),
    (
        "a string where a list belongs",
        DESIGN_EXAMPLE.replace('requester: ["*"]', 'requester: "*"'),
        2,
        ['roles.requester: expected a list such as ["*"]', 'not "*"'],
    ),
    (
        "globs not a list",
        DESIGN_EXAMPLE.replace('["*prod*"]', '"*prod*"'),
        6,
        ["approval.required_for: expected a list"],
    ),
    ("expires_after text", DESIGN_EXAMPLE.replace("1800", '"30m"'), 7, ["approval.expires_after", '"30m"']),
    (
        "expires_after zero",
        DESIGN_EXAMPLE.replace("1800", "0"),
        7,
        ["approval.expires_after: 0 is not between"],
    ),
    ("expires_after negative", DESIGN_EXAMPLE.replace("1800", "-5"), 7, ["approval.expires_after: -5"]),
    ("expires_after float", DESIGN_EXAMPLE.replace("1800", "1800.5"), 7, ["the number 1800.5"]),
    ("expires_after bool", DESIGN_EXAMPLE.replace("1800", "true"), 7, ["approval.expires_after", "yes/no"]),
    (
        "expires_after huge",
        DESIGN_EXAMPLE.replace("1800", "9" * 40),
        7,
        [f"is not between 1 and {MAX_EXPIRES_AFTER} seconds"],
    ),
    (
        "self approval not a bool",
        DESIGN_EXAMPLE.replace("allow_self_approval: false", 'allow_self_approval: "no"'),
        8,
        ['approval.allow_self_approval: expected true or false, not "no"'],
    ),
    (
        "member not a string",
        DESIGN_EXAMPLE.replace('"U0123ABCDE"', "12345"),
        4,
        ["roles.approver: expected text, not the number 12345", 'quote it: "12345"'],
    ),
    (
        "member in a block list",
        "roles:\n  approver:\n    - U0123ABCDE\n    - carol\n",
        4,
        ['roles.approver: "carol" is not "*"', '"@carol"'],
    ),
    ("lower-case user ID", "roles:\n  approver: [u0123abcde]\n", 2, ['"u0123abcde"', '"U0123ABCDE"']),
    ("upper-case handle", "roles:\n  approver: ['@DB-Managers']\n", 2, ['"@db-managers"']),
    (
        "pasted mention",
        "roles:\n  approver: ['<@U0123ABCDE>']\n",
        2,
        ['write the user ID alone: "U0123ABCDE"'],
    ),
    ("broadcast", "roles:\n  requester: ['@here']\n  approver: [U0AB]\n", 2, ['write "*" for everyone']),
    ("empty member", "roles:\n  approver: ['']\n", 2, ['roles.approver: "" is not "*"']),
    ("empty glob", DESIGN_EXAMPLE.replace('["*prod*"]', '["*prod*", ""]'), 6, ["a glob must not be empty"]),
    ("glob with spaces", DESIGN_EXAMPLE.replace('["*prod*"]', '[" *prod*"]'), 6, ["never matches"]),
    (
        "glob not a string",
        DESIGN_EXAMPLE.replace('["*prod*"]', "[2024]"),
        6,
        ["approval.required_for: expected text"],
    ),
    (
        "role with nothing",
        "roles:\n  operator:\n",
        2,
        ["roles.operator: expected a list", "write [] for none"],
    ),
    (
        "roles not a mapping",
        "roles: ['*']\n",
        1,
        ["roles: expected a mapping", "requester, operator, approver"],
    ),
    (
        "approval not a mapping",
        "roles: {approver: [U0AB]}\napproval: yes\n",
        2,
        ["approval: expected a mapping"],
    ),
    ("top level a list", "- roles\n", 1, ["the policy must be a mapping", "not a list"]),
    ("top level a string", "hello\n", 1, ["the policy must be a mapping", '"hello"']),
    ("no roles", "\n\napproval: {expires_after: 60}\n", 3, ["roles: missing"]),
    ("duplicate key", DESIGN_EXAMPLE + "roles: {}\n", 9, ["roles appears twice"]),
    ("duplicate role", "roles:\n  operator: []\n  operator: ['*']\n", 3, ["roles: operator appears twice"]),
    ("key not a name", "roles:\n  [a]: []\n", 2, ["roles: a list is not a role name"]),
    (
        "no approvers for requesters",
        "roles:\n  requester: ['*']\n  approver: []\n",
        3,
        ["nobody holds the approver role"],
    ),
    (
        "no approvers for globs",
        "roles:\n  operator: ['*']\napproval:\n  required_for: [x]\n",
        1,
        ["roles.approver"],
    ),
    ("empty", "", 1, ["empty"]),
    ("only comments", "# roles: {}\n\n", 1, ["empty"]),
    ("bare star", DESIGN_EXAMPLE.replace('["*"]', "[*]"), 2, ["not valid YAML", 'write "*"', "in quotes"]),
    ("bare glob", DESIGN_EXAMPLE.replace('["*prod*"]', "[*prod*]"), 6, ["not valid YAML", "alias"]),
    (
        "bare handle",
        DESIGN_EXAMPLE.replace('["@db-oncall"]', "[@db-oncall]"),
        3,
        ["not valid YAML", '"@handle"'],
    ),
    ("tab indent", "roles:\n\toperator: []\n", 2, ["not valid YAML", "tabs"]),
    ("bad indentation", "roles:\n  operator: []\n approver: []\n", 3, ["not valid YAML"]),
    ("unclosed list", 'roles:\n  operator: ["*"\napproval: {}\n', 3, ["not valid YAML"]),
    ("two documents", "roles: {}\n---\nroles: {}\n", 2, ["not valid YAML", "single document"]),
    ("control character", "roles:\n  operator: ['\x07']\n", 2, ["U+0007 is not allowed"]),
    ("undefined alias", "roles:\n  operator: *ops\n", 2, ["not valid YAML", "alias"]),
    (
        "bad explicit int",
        DESIGN_EXAMPLE.replace("1800", '!!int ""'),
        7,
        ["approval.expires_after", "cannot be read as int"],
    ),
    ("bad explicit bool", DESIGN_EXAMPLE.replace(" false", " !!bool maybe"), 8, ["cannot be read as bool"]),
    ("unused type", DESIGN_EXAMPLE.replace(" false", " 2024-01-01"), 8, ["!!timestamp", "no use"]),
    ("python tag", DESIGN_EXAMPLE.replace("1800", "!!python/name:os.system ''"), 7, ["no use"]),
]


@pytest.mark.parametrize(
    ("text", "line", "fragments"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_policy_names_line_and_key(text: str, line: int, fragments: list[str]) -> None:
    problem = error(text)
    assert problem.line == line, str(problem)
    assert str(problem).startswith(f"policy.yaml line {line}: "), str(problem)
    for fragment in fragments:
        assert fragment in str(problem)


def test_deep_nesting_is_a_policy_error() -> None:
    assert "nested too deeply" in str(error("[" * 2000))


def test_yaml_one_one_values_are_understood() -> None:
    # YAML 1.1 (PyYAML) reads 30:00 as sexagesimal 1800 and yes as true: accepted, as YAML says.
    policy = parse_policy(
        "roles: {approver: [U0AB]}\napproval: {expires_after: 30:00, allow_self_approval: yes}"
    )
    assert (policy.expires_after, policy.allow_self_approval) == (1800, True)


def test_member_problem_accepts_the_three_forms() -> None:
    for member in ("*", "@db-oncall", "@a.b_c-1", "U0123ABCDE", "W0123ABCDE"):
        assert member_problem(member) is None, member
    for member in ("", "db", "@", "U1", "X0123", "@db oncall", "<!subteam^S123|@db>", "@channel"):
        assert member_problem(member) is not None, member


def test_policy_model_rejects_bad_members_in_code() -> None:
    with pytest.raises(ValueError, match="is not"):
        Policy(roles={Role.OPERATOR: ("db-oncall",)})
    with pytest.raises(ValueError):
        Policy(expires_after=0)


# --- fuzzing ----------------------------------------------------------------------------------------


_YAML_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _parses_or_policy_error(text: str) -> None:
    try:
        result = parse_policy(text, "fuzz.yaml")
    except PolicyError as exc:
        assert str(exc).startswith("fuzz.yaml")
        if exc.line is not None:
            assert 1 <= exc.line <= len(_YAML_BREAKS.findall(text)) + 1
    else:
        assert isinstance(result, Policy)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_fuzz_arbitrary_text(text: str) -> None:
    _parses_or_policy_error(text)


_KEYS = ["roles", "approval", "requester", "operator", "approver", "required_for", "expires_after"]
_KEYS += ["allow_self_approval", "*", "@db", "U0AB"]
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["*", "*prod*", "@db-oncall", "U0123ABCDE", "", " ", "yes", "~", "1800", "@here"])
    | st.text(max_size=12)
)
_NESTED: st.SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_NESTED)
def test_fuzz_nested_structures(value: Any) -> None:
    _parses_or_policy_error(yaml.safe_dump(value))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.fixed_dictionaries(
        {
            "roles": st.dictionaries(
                st.sampled_from(["requester", "operator", "approver"]), _NESTED, max_size=3
            )
        },
        optional={
            "approval": st.dictionaries(
                st.sampled_from(["required_for", "expires_after", "allow_self_approval"]), _NESTED, max_size=3
            )
        },
    ),
    st.sampled_from([{}, {"default_flow_style": True}]),
)
def test_fuzz_near_valid_structures(value: dict[str, Any], style: dict[str, Any]) -> None:
    _parses_or_policy_error(yaml.safe_dump(value, **style))


_MEMBER = st.sampled_from(["*", "@db-oncall", "@db.managers", "U0123ABCDE", "W0SOMEONE"])


@settings(deadline=None)
@given(
    st.dictionaries(st.sampled_from(["requester", "operator"]), st.lists(_MEMBER, max_size=3), max_size=2),
    st.lists(_MEMBER, min_size=1, max_size=3),
    st.lists(st.sampled_from(["*prod*", "orders-?", "[ab]*"]), max_size=3),
    st.integers(min_value=1, max_value=MAX_EXPIRES_AFTER),
    st.booleans(),
)
def test_valid_policies_round_trip(
    roles: dict[str, list[str]], approvers: list[str], globs: list[str], expires: int, allow: bool
) -> None:
    document = {
        "roles": {**roles, "approver": approvers},
        "approval": {"required_for": globs, "expires_after": expires, "allow_self_approval": allow},
    }
    policy = parse_policy(yaml.safe_dump(document))
    assert policy.members(Role.APPROVER) == tuple(dict.fromkeys(approvers))
    assert policy.required_for == tuple(dict.fromkeys(globs))
    assert (policy.expires_after, policy.allow_self_approval) == (expires, allow)
    assert describe(policy, "en-us")
