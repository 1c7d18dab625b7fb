"""The App Home view: valid Block Kit for slack_sdk, inside Slack's 100-block limit at its fullest,
user text inert, the right sections for each role, in every language."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.app.home import IN_FLIGHT, MINE, WAITING, Home
from bot.domain.gates import gated_globs
from bot.domain.policy import Policy, Role
from bot.domain.policy_file import parse_policy
from bot.domain.request import State
from bot.i18n import LANGUAGES
from bot.slack.render.home import TAKE_BACKUP_ACTION, home_view, safe_link, who_you_are
from bot.slack.render.pieces import Message
from bot.slack.render.request import APPROVE_ACTION, REJECT_ACTION
from tests.unit.test_blocks import EVIL, assert_inert, request, strings

LINK = "https://acme.slack.com/archives/C1/p1709967901000100"


def home(role: Role | None, *, lang: str = "en-us", **changes: Any) -> Home:
    values: dict[str, Any] = {
        "user_id": "UREQ1",
        "lang": lang,
        "role": role,
        "waiting": (),
        "mine": (),
        "in_flight": (),
    }
    values.update(changes)
    return Home(**values)


def parsed(view: dict[str, Any]) -> View:
    found = View(**view)
    found.validate_json()
    assert found.to_dict() == view
    return found


def texts(view: dict[str, Any]) -> str:
    return "\n".join(strings(view["blocks"]))


def actions(view: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (block.get("block_id", ""), element["action_id"], element.get("value", ""))
        for block in view["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_the_fullest_home_is_valid_and_well_inside_the_block_limit(lang: str) -> None:
    pending = request(State.PENDING_APPROVAL, language=lang, approvals_needed=2, approvals=["UAPP2"])
    waiting = tuple(pending.model_copy(update={"id": f"r-waiting{i:03d}"}) for i in range(WAITING))
    mine = tuple(
        request(language=lang, permalink=LINK).model_copy(update={"id": f"r-mine{i:05d}"})
        for i in range(MINE)
    )
    flying = tuple(request().model_copy(update={"id": f"r-flying{i:03d}"}) for i in range(IN_FLIGHT))
    view = home_view(
        home(
            Role.APPROVER,
            lang=lang,
            waiting=waiting,
            mine=mine,
            in_flight=flying,
            more_in_flight=7,
            decides=True,
            gated=("*prod*",),
        )
    )
    parsed(view)
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 70  # Slack allows 100: stay well inside
    decide = [a for a in actions(view) if a[1] in (APPROVE_ACTION, REJECT_ACTION)]
    assert len(decide) == 2 * WAITING
    assert all(block_id == f"decide:{value}" for block_id, _, value in decide)  # same as the channel's
    assert TAKE_BACKUP_ACTION in {a[1] for a in actions(view)}
    assert texts(view).count(LINK) == MINE


def test_user_text_stays_inert_and_a_strange_link_is_not_shown() -> None:
    evil = request(
        State.PENDING_APPROVAL,
        backup_name=EVIL,
        instance_name=EVIL,
        reference=EVIL,
        permalink="https://x|<!channel>",
    )
    view = home_view(home(Role.APPROVER, waiting=(evil,), mine=(evil,), in_flight=(evil,), decides=True))
    parsed(view)
    assert_inert(Message(text="home", blocks=view["blocks"]))
    assert "https://x" not in texts(view)


@pytest.mark.parametrize(
    "link",
    [
        "http://acme.slack.com/x",
        "https://a b",
        "https://a>b",
        "javascript:alert(1)",
        "https://" + "a" * 600,
        "",
    ],
)
def test_only_a_plain_https_link_is_safe(link: str) -> None:
    assert not safe_link(link)


def test_safe_link_accepts_slacks_permalinks() -> None:
    assert safe_link(LINK)
    assert safe_link(LINK + "?thread_ts=1709967901.000100&cid=C1")


def test_each_role_sees_only_what_it_may() -> None:
    nobody = home_view(home(Role.NONE))
    assert TAKE_BACKUP_ACTION not in {a[1] for a in actions(nobody)}
    assert "You have no backup requests." in texts(nobody) and "Take a backup" not in texts(nobody)
    assert "In flight" not in texts(nobody) and "Waiting for you" not in texts(nobody)
    viewer = home_view(home(Role.VIEWER))
    assert "In flight" in texts(viewer) and TAKE_BACKUP_ACTION not in {a[1] for a in actions(viewer)}
    requester = home_view(home(Role.REQUESTER, gated=None))
    assert TAKE_BACKUP_ACTION in {a[1] for a in actions(requester)}
    assert "Waiting for you" not in texts(requester)
    unknown = home_view(home(None))
    assert "could not tell your role" in texts(unknown)
    assert TAKE_BACKUP_ACTION not in {a[1] for a in actions(unknown)}


def test_the_one_line_says_the_role_and_what_waits_for_approval() -> None:
    policy = parse_policy(
        """
roles:
  requester: ["@eng"]
  operator: ["@sre"]
  approver: ["@leads"]
approval:
  required_for: ["*prod*"]
  rules:
    - match: ["*payments*"]
      approvers: ["U0CFO00001"]
"""
    )
    assert isinstance(policy, Policy)
    requester = who_you_are(home(Role.REQUESTER, gated=gated_globs(policy, Role.REQUESTER)))
    assert requester == "You are a *requester*. Every backup you ask for waits for an approver."
    operator = who_you_are(home(Role.OPERATOR, gated=gated_globs(policy, Role.OPERATOR)))
    assert "*operator*" in operator and "`*prod*`, `*payments*`" in operator
    assert "start at once" in who_you_are(
        home(Role.OPERATOR, gated=gated_globs(Policy.open_default(), Role.OPERATOR))
    )
    assert "\n" not in operator


def test_nothing_waiting_and_nothing_asked_say_so() -> None:
    view = home_view(home(Role.APPROVER, decides=True))
    assert "Nothing waits for your decision." in texts(view)
    assert "You have not asked for a backup yet" in texts(view)
    assert "No backup is being made right now." in texts(view)
