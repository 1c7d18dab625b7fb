"""What the bot says about a request once its wait is over, and while it lasts: each way a wait ends
gets its own true sentence (never "approved" for a request nobody approved), a waiting request names
its approvers on every rendering (updates included), and each confirmation dialog has its own words —
in every language the bot speaks."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.request import GAVE_UP, BackupRequest, State
from bot.i18n import LANGUAGES, t
from bot.slack.render.answers import already_decided
from bot.slack.render.pieces import Message
from bot.slack.render.request import parent_message
from bot.slack.render.views import break_glass_form, reject_form

EN = "en-us"


def _request(state: State, **changes: Any) -> BackupRequest:
    values: dict[str, Any] = {
        "id": "r-abcdefghjk",
        "state": state,
        "channel_id": "C1",
        "user_id": "UREQ",
        "instance_ref": "orders-prod",
        "instance_name": "orders-prod",
        "backup_name": "before-change",
        "decided_by": "UDECIDER",
    }
    values.update(changes)
    return BackupRequest(**values)


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return []


def _shown(message: Message) -> str:
    return "\n".join([message.text, *_strings(message.blocks)])


# How a click on each state reads (English); every state a wait can end in must be here.
_ENDED = {
    State.RECEIVED: "no longer waits for a decision",
    State.APPROVED: "already approved by <@UDECIDER>",
    State.CREATING: "already approved by <@UDECIDER>",
    State.BUILDING: "already approved by <@UDECIDER>",
    State.COMPLETED: "already approved by <@UDECIDER>",
    State.FAILED: "already approved by <@UDECIDER>",
    State.TIMED_OUT: "already approved by <@UDECIDER>",
    State.CREATE_FAILED: "already approved by <@UDECIDER>",
    State.SCHEDULED: "already approved by <@UDECIDER>",
    State.REJECTED: "already rejected by <@UDECIDER>",
    State.CANCELLED: "already cancelled by <@UDECIDER>",
    State.EXPIRED: "has expired",
}


def test_every_state_but_waiting_has_its_words() -> None:
    assert set(_ENDED) == set(State) - {State.PENDING_APPROVAL}


@pytest.mark.parametrize("state", sorted(_ENDED))
def test_a_click_on_a_request_that_no_longer_waits_says_how_it_ended(state: State) -> None:
    said = _shown(already_decided(_request(state), lang=EN))
    assert _ENDED[state] in said, said
    if "approved" not in _ENDED[state]:
        assert "approved by" not in said, said


def test_the_ways_a_wait_ends_read_differently_in_every_language() -> None:
    ended = [
        _request(State.CANCELLED),
        _request(State.REJECTED),
        _request(State.EXPIRED),
        _request(State.APPROVED),
        _request(State.APPROVED, break_glass=True, decided_by="UREQ"),
        _request(State.CREATE_FAILED, decided_by="", error_code=GAVE_UP),
    ]
    for lang in LANGUAGES:
        sentences = [already_decided(r, lang=lang).text for r in ended]
        assert len(set(sentences)) == len(sentences), (lang, sentences)


def test_a_broken_glass_a_gave_up_request_and_two_approvals_are_told_as_they_were() -> None:
    glass = already_decided(_request(State.BUILDING, break_glass=True, decided_by="UREQ"), lang=EN).text
    assert "<@UREQ> already started this request without approval" in glass and "approved by" not in glass
    gave_up = already_decided(_request(State.CREATE_FAILED, decided_by="", error_code=GAVE_UP), lang=EN).text
    assert "gave up" in gave_up and "approved" not in gave_up
    two = _request(State.COMPLETED, approvals=["UAPP1", "UAPP2"], decided_by="UAPP2")
    assert "already approved by <@UAPP1>, <@UAPP2>" in already_decided(two, lang=EN).text


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (_request(State.CANCELLED), "*Cancelled by*\n<@UDECIDER>"),
        (_request(State.REJECTED), "*Rejected by*\n<@UDECIDER>"),
        (
            _request(State.COMPLETED, break_glass=True, decided_by="UREQ"),
            "*Started without approval by*\n<@UREQ>",
        ),
        (_request(State.BUILDING, approvals=["UAPP1", "UAPP2"]), "*Approved by*\n<@UAPP1>, <@UAPP2>"),
    ],
)
def test_the_request_message_says_who_ended_the_wait_and_how(request_: BackupRequest, field: str) -> None:
    shown = _shown(parent_message(request_))
    assert field in shown
    assert request_.break_glass or request_.approvals or "Approved by" not in shown


def _waiting(**changes: Any) -> BackupRequest:
    return _request(
        State.PENDING_APPROVAL,
        decided_by="",
        approvers=["UAPP1", "@dbas", "@unsynced", "*"],
        approver_group_ids={"dbas": "S0DBAS"},
        approvals_needed=2,
        **changes,
    )


def test_a_waiting_request_names_its_approvers_on_every_rendering() -> None:
    for req in (_waiting(), _waiting(approvals=["UAPP1"])):  # as first posted, and after 1 of 2
        shown = _shown(parent_message(req))
        assert "*Approvers:* <@UAPP1> <!subteam^S0DBAS> @unsynced" in shown, shown
        assert "<!everyone>" not in shown and "<!channel>" not in shown
    assert "*Approvers:*" not in _shown(parent_message(_request(State.APPROVED, approvers=["UAPP1"])))
    given = _shown(parent_message(_waiting(), ["<@UOTHER>"]))  # what the caller names wins
    assert "*Approvers:* <@UOTHER>" in given


def _buttons(message: Message) -> list[dict[str, Any]]:
    return [e for b in message.blocks if b.get("type") == "actions" for e in b["elements"]]


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_each_confirmation_says_what_its_button_does_and_its_way_out_is_no_button(lang: str) -> None:
    """A dialog's yes repeats its button ("Cancel request" cancels, "Approve" approves); its no is
    none of the request's actions, nor the start of one (a bare "Cancel" beside "Cancel request")."""
    req = _waiting(language=lang, notify="both", break_glass_allowed=True)
    buttons = _buttons(parent_message(req))
    labels = [b["text"]["text"].lower() for b in buttons]
    dialogs = [b for b in buttons if "confirm" in b]
    assert {b["action_id"] for b in dialogs} == {"approve_request", "cancel_request"}
    for button in dialogs:
        confirm = button["confirm"]
        assert confirm["confirm"]["text"] == button["text"]["text"], confirm
        deny = confirm["deny"]["text"].lower()
        assert not any(label.startswith(deny) for label in labels), (deny, labels)
    for view in (reject_form(req, lang=lang), break_glass_form(req, lang=lang)):
        close = view["close"]["text"].lower()
        assert not any(label.startswith(close) for label in labels), (close, labels)
        assert close != t(lang, "form.close").lower()
