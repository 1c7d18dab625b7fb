"""Issue 12's policy keys (viewer, approval.rules, break_glass, notify, guests): what each one means
once read, and every refusal the file reader owes, naming the line."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.gates import Gate, Instance, gate_for, may_approve, may_break_glass, may_read
from bot.domain.policy import MAX_APPROVALS, ApprovalRule, Notify, Policy, Role, role_of
from bot.domain.policy_file import PolicyError, parse_policy
from bot.slack.render.policy import describe

# The contract's example (issue 12), line by line: the numbers below count from here.
CONTRACT = """\
roles:
  viewer:    ["*"]
  requester: ["@eng"]
  operator:  ["@db-oncall"]
  approver:  ["@db-managers"]
approval:
  required_for: ["*prod*"]
  expires_after: 1800
  allow_self_approval: false
  rules:
    - match: ["*prod*", "cn-north-4/*"]
      approvers: ["@db-managers"]
      min_approvals: 2
    - match: ["billing-*"]
      approvers: ["@finance-dba"]
  break_glass:
    allowed: ["@incident-commanders"]
  notify: channel
guests: refuse
"""
NOBODY: frozenset[str] = frozenset()
ENG = frozenset({"eng"})


def parse(text: str) -> Policy:
    return parse_policy(text, "policy.yaml")


def error(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policy.yaml")
    return caught.value


# --- what the keys mean -----------------------------------------------------------------------------


def test_the_contract_example_reads_as_written() -> None:
    policy = parse(CONTRACT)
    assert policy.members(Role.VIEWER) == ("*",)
    assert policy.rules == (
        ApprovalRule(match=("*prod*", "cn-north-4/*"), approvers=("@db-managers",), min_approvals=2),
        ApprovalRule(match=("billing-*",), approvers=("@finance-dba",), min_approvals=1),
    )
    assert policy.break_glass == ("@incident-commanders",)
    assert policy.notify is Notify.CHANNEL and policy.guests_allowed is False


def test_the_new_keys_default_to_todays_behaviour() -> None:
    policy = parse('roles:\n  operator: ["*"]\n')
    assert policy.rules == () and policy.break_glass == ()
    assert policy.notify is Notify.CHANNEL and policy.guests_allowed is False
    assert policy.members(Role.VIEWER) == ()


@pytest.mark.parametrize(
    ("value", "expected"), [("channel", Notify.CHANNEL), ("dm", Notify.DM), ("both", Notify.BOTH)]
)
def test_notify_values(value: str, expected: Notify) -> None:
    policy = parse(CONTRACT.replace("notify: channel", f"notify: {value}"))
    assert policy.notify is expected
    assert expected.in_channel is (value != "dm") and expected.by_dm is (value != "channel")


def test_guests_allow() -> None:
    assert parse(CONTRACT.replace("guests: refuse", "guests: allow")).guests_allowed is True


def test_viewer_is_the_lowest_role_and_every_role_may_read() -> None:
    assert Role.NONE < Role.VIEWER < Role.REQUESTER < Role.OPERATOR < Role.APPROVER
    assert [may_read(r) for r in Role] == [False, True, True, True, True]
    without_viewers = parse('roles:\n  operator: ["@db-oncall"]\n')
    assert role_of(without_viewers, "U0ONCALL", frozenset({"db-oncall"})) is Role.OPERATOR
    assert role_of(without_viewers, "U0OTHER", NOBODY) is Role.NONE


def test_guests_hold_roles_only_by_their_own_user_id() -> None:
    text = 'roles:\n  viewer: ["*"]\n  requester: ["@eng", "U0GUESTOK"]\n  approver: ["U0BOSS"]\n'
    refuse, allow = parse(text), parse(text + "guests: allow\n")
    assert role_of(refuse, "U0GUEST", ENG, guest=True) is Role.NONE  # neither "*" nor @eng counts
    assert role_of(refuse, "U0GUEST", ENG, guest=False) is Role.REQUESTER
    assert role_of(refuse, "U0GUESTOK", NOBODY, guest=True) is Role.REQUESTER
    assert role_of(allow, "U0GUEST", ENG, guest=True) is Role.REQUESTER
    assert role_of(allow, "U0ANYONE", NOBODY, guest=True) is Role.VIEWER


def test_the_first_matching_rule_is_the_gate_for_everyone() -> None:
    policy = parse(CONTRACT)
    prod = gate_for(policy, Role.APPROVER, Instance("billing-prod", "abc"))
    assert prod == Gate(("@db-managers",), 2, 0)  # *prod* comes first, even for billing-prod
    assert gate_for(policy, Role.OPERATOR, Instance("billing-dev")) == Gate(("@finance-dba",), 1, 1)
    assert gate_for(policy, Role.OPERATOR, Instance("Orders-PROD")) == Gate(("@db-managers",), 2, 0)
    # Outside the rules, today's rules: a requester waits for roles.approver, an operator does not.
    assert gate_for(policy, Role.REQUESTER, Instance("orders-dev")) == Gate(("@db-managers",), 1, None)
    assert gate_for(policy, Role.OPERATOR, Instance("orders-dev")) is None


def test_a_rule_matches_the_instance_id_too() -> None:
    policy = parse(
        'roles:\n  operator: ["*"]\napproval:\n  rules:\n    - match: ["0123*"]\n      approvers: [U0BOSS]\n'
    )
    assert gate_for(policy, Role.OPERATOR, Instance("some-name", "0123abcdin07")) == Gate(("U0BOSS",), 1, 0)
    assert gate_for(policy, Role.OPERATOR, Instance("some-name", "9999in07")) is None


def test_rule_approvers_and_break_glass_keep_guests_out_unless_named() -> None:
    text = (
        'roles:\n  requester: ["*"]\n  approver: [U0BOSS]\napproval:\n  rules:\n'
        '    - match: ["*"]\n      approvers: ["@dbas", "U0GUESTDBA"]\n'
        '  break_glass:\n    allowed: ["@ic", "U0GUESTIC"]\n'
    )
    policy = parse(text)
    gate = Gate(policy.rules[0].approvers, 1, 0)
    dbas, ic = frozenset({"dbas"}), frozenset({"ic"})
    assert may_approve(policy, gate, "U0DBA", dbas) and not may_approve(
        policy, gate, "U0DBA", dbas, guest=True
    )
    assert may_approve(policy, gate, "U0GUESTDBA", NOBODY, guest=True)
    assert not may_approve(policy, gate, "U0BOSS", NOBODY)  # roles.approver is not the rule's approver
    assert may_break_glass(policy, "U0IC", ic) and not may_break_glass(policy, "U0IC", ic, guest=True)
    assert may_break_glass(policy, "U0GUESTIC", NOBODY, guest=True)
    allowing = parse(text + "guests: allow\n")
    assert may_approve(allowing, gate, "U0DBA", dbas, guest=True) and may_break_glass(
        allowing, "U0IC", ic, guest=True
    )


def test_min_approvals_may_exceed_the_user_ids_when_a_group_or_everyone_is_listed() -> None:
    for approvers in ('["U0AAA1", "@dbas"]', '["U0AAA1", "*"]'):
        text = (
            'roles:\n  operator: ["*"]\napproval:\n  rules:\n'
            f'    - match: ["*"]\n      approvers: {approvers}\n      min_approvals: 5\n'
        )
        assert parse(text).rules[0].min_approvals == 5


def test_break_glass_is_allowed_where_requesters_or_required_for_wait() -> None:
    assert parse(
        'roles:\n  requester: ["*"]\n  approver: [U0B]\napproval:\n  break_glass: {allowed: [U0IC]}\n'
    )
    with_globs = 'roles:\n  operator: ["*"]\n  approver: [U0B]\napproval:\n  required_for: ["*"]\n'
    assert parse(with_globs + "  break_glass: {allowed: [U0IC]}\n").break_glass == ("U0IC",)


def test_help_describes_every_new_key() -> None:
    lines = describe(parse(CONTRACT.replace("notify: channel", "notify: both")), "en-us")
    shown = "\n".join(lines)
    assert "Viewers (everyone) may look backups up (status, list), not take them." in shown
    assert "Instances matching `*prod*`, `cn-north-4/*` need 2 approval(s) from @db-managers" in shown
    assert "Instances matching `billing-*` need 1 approval(s) from @finance-dba" in shown
    assert "@incident-commanders may start their own pending request at once (break glass)" in shown
    assert "Approvers are asked in the channel and by direct message." in shown
    assert "Looking backups up (status, list) needs a role too." in shown
    assert "Slack guests hold no role unless the policy names them by user ID." in shown
    dm = describe(
        parse(CONTRACT.replace("notify: channel", "notify: dm").replace("refuse", "allow")), "en-us"
    )
    assert "Approvers are asked by direct message." in dm and "Slack guests hold roles like members." in dm
    assert not any("direct message" in line for line in describe(parse(CONTRACT), "en-us"))


# --- refusals, each naming its line ----------------------------------------------------------------


def bad(name: str, old: str, new: str, line: int, *fragments: str) -> Any:
    """CONTRACT with one thing broken (``old`` → ``new``; ``old`` must be there), refused at ``line``."""
    assert CONTRACT.count(old) == 1, old
    return pytest.param(CONTRACT.replace(old, new), line, fragments, id=name)


def refused(name: str, text: str, line: int, *fragments: str) -> Any:
    return pytest.param(text, line, fragments, id=name)


RULE_0_APPROVERS = '      approvers: ["@db-managers"]\n      min_approvals: 2'
RULE_1 = '    - match: ["billing-*"]\n      approvers: ["@finance-dba"]\n'
BREAK_GLASS = '  break_glass:\n    allowed: ["@incident-commanders"]\n'
RULES = CONTRACT[CONTRACT.index("  rules:") : CONTRACT.index("  break_glass:")]

REFUSALS = [
    # unknown keys, with the closest known one
    bad(
        "top-level key",
        "guests: refuse",
        "guest: refuse",
        19,
        '"guest" is not a top-level key',
        "did you mean guests?",
    ),
    bad(
        "approval key", "  notify:", "  notfy:", 18, 'approval: "notfy" is not a key', "did you mean notify?"
    ),
    bad(
        "rule key",
        '  approvers: ["@finance',
        '  approver: ["@finance',
        15,
        'approval.rules[1]: "approver" is not a key',
        "did you mean approvers?",
    ),
    bad(
        "break_glass key",
        "    allowed:",
        "    allow:",
        17,
        'approval.break_glass: "allow" is not a key',
        "did you mean allowed?",
    ),
    bad(
        "role",
        "  viewer:",
        "  viewers:",
        2,
        'roles: "viewers" is not a role',
        "viewer, requester, operator, approver",
    ),
    bad(
        "rule key twice",
        "min_approvals: 2\n",
        "min_approvals: 2\n      min_approvals: 3\n",
        14,
        "approval.rules[0]: min_approvals appears twice",
    ),
    # viewer
    bad(
        "viewer member",
        '["*"]',
        '["everyone"]',
        2,
        'roles.viewer: "everyone" is not "*"',
        'write "*" for everyone',
    ),
    # min_approvals
    bad(
        "min_approvals 0",
        "min_approvals: 2",
        "min_approvals: 0",
        13,
        f"approval.rules[0].min_approvals: 0 is not between 1 and {MAX_APPROVALS}",
    ),
    bad(
        "min_approvals -1",
        "min_approvals: 2",
        "min_approvals: -1",
        13,
        "approval.rules[0].min_approvals: -1 is not between 1",
    ),
    bad(
        "min_approvals > max",
        "min_approvals: 2",
        f"min_approvals: {MAX_APPROVALS + 1}",
        13,
        f"{MAX_APPROVALS + 1} is not between 1 and {MAX_APPROVALS}",
    ),
    bad(
        "min_approvals text",
        "min_approvals: 2",
        'min_approvals: "2"',
        13,
        "approval.rules[0].min_approvals: expected a whole number",
        '"2"',
    ),
    bad(
        "min_approvals yes/no",
        "min_approvals: 2",
        "min_approvals: yes",
        13,
        "min_approvals: expected a whole number",
        "yes/no",
    ),
    bad(
        "min_approvals float",
        "min_approvals: 2",
        "min_approvals: 1.5",
        13,
        "min_approvals: expected a whole number",
        "1.5",
    ),
    bad(
        "min_approvals over the user IDs",
        RULE_0_APPROVERS,
        '      approvers: ["U0AAA1", "U0AAA2"]\n      min_approvals: 3',
        13,
        "approval.rules[0].min_approvals: 3 distinct approvals can never come from the 2 approver(s) listed",
    ),
    bad(
        "min_approvals over one user ID twice",
        RULE_0_APPROVERS,
        '      approvers: ["U0AAA1", "U0AAA1"]\n      min_approvals: 2',
        13,
        "2 distinct approvals can never come from the 1 approver(s) listed",
    ),
    # rules
    bad(
        "rules not a list",
        RULES,
        '  rules: {match: ["*prod*"], approvers: ["@db-managers"]}\n',
        10,
        "approval.rules: expected a list",
    ),
    bad(
        "rule not a mapping",
        RULE_1,
        '    - "billing-*"\n',
        14,
        "approval.rules[1]: expected a mapping",
        "match, approvers, min_approvals",
    ),
    bad(
        "rule without match",
        RULE_1,
        '    - approvers: ["@finance-dba"]\n',
        14,
        "approval.rules[1]: match is missing",
    ),
    bad(
        "rule without approvers",
        RULE_1,
        '    - match: ["billing-*"]\n',
        14,
        "approval.rules[1]: approvers is missing",
    ),
    bad(
        "rule with no globs",
        '["billing-*"]',
        "[]",
        14,
        "approval.rules[1].match: a rule needs at least one glob",
    ),
    bad(
        "rule with no approvers",
        '["@finance-dba"]',
        "[]",
        15,
        "approval.rules[1].approvers: a rule needs at least one approver",
    ),
    bad("rule glob empty", '["billing-*"]', '[""]', 14, "approval.rules[1].match: a glob must not be empty"),
    bad("rule glob spaces", '["billing-*"]', '["billing-* "]', 14, "never matches an instance"),
    bad(
        "rule approver member",
        '["@finance-dba"]',
        '["finance-dba"]',
        15,
        'approval.rules[1].approvers: "finance-dba" is not "*"',
        '"@finance-dba"',
    ),
    # break glass
    refused(
        "break glass with nothing that waits",
        'roles:\n  operator: ["*"]\napproval:\n  expires_after: 60\n  break_glass:\n    allowed: [U0IC]\n',
        5,
        "approval.break_glass: nothing in this policy ever waits for an approval",
        "no glass to break",
    ),
    bad(
        "break glass without allowed",
        BREAK_GLASS,
        "  break_glass: {}\n",
        16,
        "approval.break_glass: allowed is missing",
    ),
    bad(
        "break glass allowed empty",
        '["@incident-commanders"]',
        "[]",
        17,
        "approval.break_glass.allowed: name at least one",
    ),
    bad(
        "break glass member",
        '["@incident-commanders"]',
        '["incident-commanders"]',
        17,
        'approval.break_glass.allowed: "incident-commanders" is not "*"',
        '"@incident-commanders"',
    ),
    bad(
        "break glass a list",
        BREAK_GLASS,
        '  break_glass: ["@incident-commanders"]\n',
        16,
        "approval.break_glass: expected a mapping",
        "allowed",
    ),
    # notify and guests
    bad(
        "notify unknown",
        "notify: channel",
        "notify: email",
        18,
        'approval.notify: "email" is not one of channel, dm, both',
    ),
    bad("notify case", "notify: channel", "notify: DM", 18, '"DM" is not one of channel, dm, both'),
    bad("notify typo", "notify: channel", "notify: chanel", 18, "did you mean channel?"),
    bad(
        "notify number",
        "notify: channel",
        "notify: 1",
        18,
        "approval.notify: expected text, not the number 1",
    ),
    bad("guests unknown", "guests: refuse", "guests: deny", 19, 'guests: "deny" is not one of refuse, allow'),
    bad("guests typo", "guests: refuse", "guests: allowed", 19, "did you mean allow?"),
    bad(
        "guests yes/no",
        "guests: refuse",
        "guests: yes",
        19,
        "guests: expected text, not the yes/no value yes",
    ),
]


@pytest.mark.parametrize(("text", "line", "fragments"), REFUSALS)
def test_a_bad_new_key_is_refused_naming_the_line(text: str, line: int, fragments: tuple[str, ...]) -> None:
    problem = error(text)
    assert str(problem).startswith(f"policy.yaml line {line}: "), str(problem)
    assert problem.line == line
    for fragment in fragments:
        assert fragment in str(problem), str(problem)
