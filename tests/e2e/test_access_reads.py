"""Issue 12, reads and guests, over the real processes: reading needs a role, a viewer reads but never
creates, and a Slack guest holds no role through a group (nor decides through one) unless the policy
names them by user ID. One deployment serves the module; each test has its own people and channel."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from bot.domain.request import State
from bot.local.embedded_redis import EmbeddedRedis
from bot.local.simulator.seed import seed_id
from tests.e2e.harness import (
    Shared,
    answers_at,
    buttons_of,
    current,
    module_deployment,
    posts_in,
    request_id_of,
    text_of,
    wait_answer,
    wait_parent,
    wait_shown,
    wait_thread_final,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

POLICY = """
roles:
  viewer: ["U0RVIEW"]
  requester: ["@r-eng", "U0RGUESTREQ"]
  operator: ["U0ROPER", "U0RGUESTOP"]
  approver: ["U0RBOSS", "@r-managers"]
approval:
  required_for: ["*prod*"]
"""
GROUPS = {
    "r-eng": [
        "U0RENG",
        "U0RENG2",
        "U0RENG3",
        "U0RGUEST",
        "U0RGUESTREAD",
        "U0RGUESTREAD2",
        "U0RGUESTTYPO",
        "U0RGUESTTYPE",
        "U0RGUESTREQ",
    ],
    "r-managers": [
        "U0RMGR",
        "U0RMGR2",
        "U0RMGR3",
        "U0RGUESTMGR",
        "U0RGUESTMGR2",
        "U0RGUESTMGR3",
        "U0RGUESTMGR4",
    ],
}
GUESTS = (
    "U0RGUEST",
    "U0RGUESTREAD",
    "U0RGUESTREAD2",
    "U0RGUESTTYPO",
    "U0RGUESTTYPE",
    "U0RGUESTOP",
    "U0RGUESTMGR",
    "U0RGUESTMGR2",
    "U0RGUESTMGR3",
    "U0RGUESTMGR4",
    "U0RGUESTREQ",
)
PROD_ID = seed_id("orders-prod")
NOT_ALLOWED = "not allowed"


Env = Shared


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(
    redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Env]:
    async with module_deployment(
        Env,
        redis_url=redis_server.url,
        log_dir=tmp_path_factory.mktemp("access-reads"),
        request=request,
        policy=POLICY,
        knobs={"usergroups": GROUPS, "guests": dict.fromkeys(GUESTS, "multi")},
    ) as shared:
        yield shared


@dataclass(frozen=True)
class Done:
    request_id: str
    backup_id: str
    backup_name: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def done(env: Env) -> Done:
    """One finished backup of orders-prod (an operator's, approved), for the reads to be about."""
    await env.bot.command("create orders-prod read-me-later", user_id="U0ROPER", channel_id="C0RDONE")
    parent = await wait_parent(env.slack, "C0RDONE", with_button="approve_request")
    await env.bot.click("U0RBOSS", parent, "approve_request")
    final = await wait_thread_final(env.slack, parent)
    assert "complete" in text_of(final).lower()
    [backup] = await env.backups_named("read-me-later")
    return Done(request_id_of(parent), backup["id"], "read-me-later")


def _shown(response_json: dict[str, object]) -> str:
    return json.dumps(response_json, ensure_ascii=False)


async def test_help_states_the_read_rule_and_the_guest_rule(env: Env) -> None:
    shown = _shown((await env.bot.command("help", user_id="U0RENG", channel_id="C0RHELP")).json())
    assert "Looking backups up (status, list) needs a role too." in shown
    assert "Slack guests hold no role unless the policy names them by user ID." in shown


async def test_no_role_reads_nothing_neither_the_bots_records_nor_the_cloud(env: Env, done: Done) -> None:
    bot, slack = env.bot, env.slack
    await bot.sim("DELETE", "calls")
    for text in (
        f"status {done.request_id}",
        "status r-doesnotexst",
        f"status {done.backup_id}",
        "list orders-prod",
        "list orders-prod 5",
    ):
        url = slack.response_url()
        ack = (await bot.command(text, user_id="U0RNOBODY", channel_id="C0RNOBODY", response_url=url)).json()
        shown = _shown(ack)
        assert NOT_ALLOWED in shown, (text, shown)
        assert "<@U0RBOSS>" in shown  # who can help
        for secret in (done.backup_name, done.backup_id, "no request", "orders-prod is", "20480"):
            assert secret not in shown, (text, secret, shown)

    # What a viewer asks next is answered by the same worker; by then a read scheduled for the
    # no-role user would have reached the cloud: nothing did.
    url = slack.response_url()
    await bot.command("list orders-dev", user_id="U0RVIEW", channel_id="C0RNOBODY", response_url=url)
    assert "orders-dev" in await wait_answer(slack, url)
    calls = json.dumps(await bot.cloud_calls())
    assert PROD_ID not in calls and done.backup_id not in calls, calls
    assert ("refused", "U0RNOBODY", "no role to read") in await env.audited(actor="U0RNOBODY")
    assert posts_in(slack, "C0RNOBODY") == []


async def test_a_viewer_reads_but_never_creates(env: Env, done: Done) -> None:
    bot, slack = env.bot, env.slack
    status = _shown((await bot.command(f"status {done.request_id}", user_id="U0RVIEW")).json())
    assert done.backup_name in status and "completed" in status.lower()

    url = slack.response_url()
    ack = _shown((await bot.command("list orders-prod", user_id="U0RVIEW", response_url=url)).json())
    assert NOT_ALLOWED not in ack
    assert done.backup_name in await wait_answer(slack, url)

    by_backup = _shown((await bot.command(f"status {done.backup_id}", user_id="U0RVIEW")).json())
    assert done.backup_name in by_backup  # the bot's own record of the backup it made

    before = len(await bot.backups())
    refused = _shown(
        (await bot.command("create orders-dev viewer-try", user_id="U0RVIEW", channel_id="C0RVIEW")).json()
    )
    assert NOT_ALLOWED in refused and "<@U0RBOSS>" in refused
    form = _shown((await bot.command("", user_id="U0RVIEW", channel_id="C0RVIEW")).json())
    assert NOT_ALLOWED in form
    assert not [c for c in slack.calls("views.open") if c.args.get("view", {}).get("callback_id")]
    assert posts_in(slack, "C0RVIEW") == []
    assert len(await bot.backups()) == before
    assert [a for a, _, _ in await env.audited(actor="U0RVIEW")].count("requested") == 0


async def test_a_guest_in_a_group_is_refused_privately_with_nothing_posted(env: Env) -> None:
    bot, slack = env.bot, env.slack
    # The web process has never seen this guest: it cannot tell, accepts, and the worker refuses
    # (users.info says is_restricted) before anything is posted.
    url = slack.response_url()
    ack = _shown(
        (
            await bot.command(
                "create orders-dev guest-try", user_id="U0RGUEST", channel_id="C0RGUEST", response_url=url
            )
        ).json()
    )
    assert NOT_ALLOWED not in ack
    assert NOT_ALLOWED in await wait_answer(slack, url)
    assert ("refused", "U0RGUEST", "no role") in await env.audited(actor="U0RGUEST")
    # Now the guest's record is cached: the web refuses in the acknowledgement itself.
    again = _shown(
        (await bot.command("create orders-dev guest-again", user_id="U0RGUEST", channel_id="C0RGUEST")).json()
    )
    assert NOT_ALLOWED in again
    status = _shown((await bot.command("list orders-dev", user_id="U0RGUEST", channel_id="C0RGUEST")).json())
    assert NOT_ALLOWED in status

    assert posts_in(slack, "C0RGUEST") == []
    assert not slack.calls("chat.postEphemeral")
    names = {b["name"] for b in await bot.backups()}
    assert not names & {"guest-try", "guest-again"}


async def test_a_guest_named_by_user_id_is_let_in(env: Env) -> None:
    bot, slack = env.bot, env.slack
    await bot.command("create orders-dev guest-by-id", user_id="U0RGUESTOP", channel_id="C0RGUESTOP")
    parent = await wait_parent(slack, "C0RGUESTOP")
    final = await wait_thread_final(slack, parent)
    assert "complete" in text_of(final).lower()
    assert "guest-by-id" in {b["name"] for b in await bot.backups()}

    # A guest requester by ID waits for an approver like any requester.
    await bot.command("create orders-dev guest-asks", user_id="U0RGUESTREQ", channel_id="C0RGUESTREQ")
    pending = await wait_parent(slack, "C0RGUESTREQ", with_button="approve_request")
    assert "guest-asks" in text_of(pending)


async def test_a_guest_reading_before_the_web_knows_them_is_refused_by_the_worker(
    env: Env, done: Done
) -> None:
    bot, slack = env.bot, env.slack
    await bot.sim("DELETE", "calls")
    for user_id, text in (
        ("U0RGUESTREAD", "list orders-prod"),
        ("U0RGUESTREAD2", f"status {done.request_id}"),
    ):
        url = slack.response_url()
        ack = await bot.command(text, user_id=user_id, channel_id="C0RREAD", response_url=url)
        assert done.backup_name not in _shown(ack.json())
        answer = await wait_answer(slack, url)
        assert NOT_ALLOWED in answer and done.backup_name not in answer
        assert len(answers_at(slack, url)) == 1
    assert PROD_ID not in json.dumps(await bot.cloud_calls())


async def test_a_guest_who_mistypes_an_instance_learns_no_instance_names(env: Env) -> None:
    bot, slack = env.bot, env.slack
    url = slack.response_url()
    await bot.command(
        "create orders-prd typo", user_id="U0RGUESTTYPO", channel_id="C0RTYPO", response_url=url
    )
    answer = await wait_answer(slack, url)
    assert "orders-prod" not in answer, answer
    assert NOT_ALLOWED in answer


async def _suggested(env: Env, user_id: str, value: str = "orders") -> list[str]:
    """The form's instance type-ahead, as ``user_id`` typing ``value``."""
    answer = await env.bot.interact(
        {
            "type": "block_suggestion",
            "action_id": "instance_select",
            "block_id": "instance",
            "value": value,
            "user": {"id": user_id},
            "team": {"id": "T1"},
            "api_app_id": "A1",
            "view": {"id": "V1", "callback_id": "backup_form", "type": "modal"},
        }
    )
    assert answer.status_code == 200
    return [o["text"]["text"] for o in answer.json()["options"]]


async def _offered_in_the_end(env: Env, user_id: str) -> list[str]:
    """What the type-ahead offers ``user_id`` once the workers have filled the caches it reads."""
    for _ in range(200):
        if offered := await _suggested(env, user_id):
            return offered
        await asyncio.sleep(0.05)
    return []


async def test_the_type_ahead_names_instances_only_to_people_who_may_ask(env: Env) -> None:
    # An operator named by user ID holds the role whatever Slack says of them: offered at once
    # (the first answer may find the instance cache cold and wake a worker to fill it).
    assert "orders-prod" in await _offered_in_the_end(env, "U0ROPER")
    for user_id in ("U0RNOBODY", "U0RVIEW", "U0RGUESTTYPE"):  # no role, reads only, an unseen guest
        assert await _suggested(env, user_id) == [], user_id
    # A member of @r-eng the web has not met could be a guest: nothing, until a worker (woken by the
    # first read of their record) has asked Slack.
    assert await _suggested(env, "U0RENG3") == []
    assert "orders-prod" in await _offered_in_the_end(env, "U0RENG3")


async def test_a_guest_in_the_approver_group_cannot_approve(env: Env) -> None:
    bot, slack = env.bot, env.slack
    await bot.command("create orders-dev needs-a-manager", user_id="U0RENG", channel_id="C0RMGR")
    parent = await wait_parent(slack, "C0RMGR", with_button="approve_request")
    pressed = await bot.press("U0RGUESTMGR", parent, "approve_request")
    assert NOT_ALLOWED in await wait_answer(slack, pressed.response_url)  # they hold no role
    assert "approve_request" in buttons_of(current(slack, parent))
    assert "needs-a-manager" not in {b["name"] for b in await bot.backups()}

    await bot.click("U0RMGR", parent, "approve_request")  # a member of @r-managers who is no guest
    final = await wait_thread_final(slack, parent)
    assert "complete" in text_of(final).lower()
    assert any("Approved by <@U0RMGR>" in m["text"] for m in slack.replies(parent["channel"], parent["ts"]))


async def test_an_approver_the_bot_has_never_seen_cancels_by_command(env: Env) -> None:
    bot, slack = env.bot, env.slack
    await bot.command("create orders-dev call-it-off", user_id="U0RENG2", channel_id="C0RCANCEL")
    parent = await wait_parent(slack, "C0RCANCEL", with_button="approve_request")
    request_id = request_id_of(parent)
    # The web must not ask Slack before the ack: it acknowledges with nothing, asks Slack whether
    # U0RMGR2 is a guest, and answers privately through the response URL, as it answers a click.
    url = slack.response_url()
    ack = await bot.command(f"cancel {request_id}", user_id="U0RMGR2", channel_id="C0RELSE", response_url=url)
    assert ack.status_code == 200 and not ack.content.strip()
    assert "is cancelled" in await wait_answer(slack, url)
    assert len(answers_at(slack, url)) == 1
    assert "cancelled by <@U0RMGR2>" in (await wait_thread_final(slack, parent))["text"]


async def test_a_guest_in_the_approver_group_the_bot_has_never_seen_cannot_cancel(env: Env) -> None:
    bot, slack = env.bot, env.slack
    await bot.command("create orders-dev keep-it-going", user_id="U0RENG", channel_id="C0RGCANCEL")
    parent = await wait_parent(slack, "C0RGCANCEL", with_button="approve_request")
    url = slack.response_url()
    await bot.command(
        f"cancel {request_id_of(parent)}", user_id="U0RGUESTMGR2", channel_id="C0RELSE", response_url=url
    )
    assert NOT_ALLOWED in await wait_answer(slack, url)  # once Slack said "guest": no role
    assert "approve_request" in buttons_of(current(slack, parent))


async def test_an_approver_the_bot_has_never_seen_reads_the_audit_trail_a_guest_among_them_does_not(
    env: Env, done: Done
) -> None:
    bot, slack = env.bot, env.slack
    for user_id, expected in (("U0RMGR3", "*Audit log* (latest"), ("U0RGUESTMGR3", "Only approvers")):
        url = slack.response_url()
        ack = await bot.command("audit 50", user_id=user_id, channel_id="C0RAUDIT", response_url=url)
        assert ack.status_code == 200 and not ack.content.strip()  # Slack is asked after the ack
        assert expected in await wait_answer(slack, url), user_id


async def test_no_role_learns_nothing_of_a_request_by_cancel_or_keep(env: Env, done: Done) -> None:
    """Cancel and keep are no side door: someone with no role is refused as a read is, in the same
    words whether the request exists or not and whatever its state (by command, by the buttons, by
    buttons forged to name another request), audited so, and nothing changes."""
    bot, slack = env.bot, env.slack
    await bot.command("create orders-dev still-waiting", user_id="U0RENG", channel_id="C0RPROBE")
    pending = await wait_parent(slack, "C0RPROBE", with_button="cancel_request")
    await bot.command("create orders-dev called-off", user_id="U0RENG", channel_id="C0RPROBE2")
    called_off = await wait_parent(slack, "C0RPROBE2", with_button="cancel_request")
    await bot.command(f"cancel {request_id_of(called_off)}", user_id="U0RENG", channel_id="C0RPROBE2")
    await wait_shown(slack, called_off, "cancelled")
    missing = "r-aaaaaaaaaa"
    refs = (request_id_of(pending), request_id_of(called_off), done.request_id, missing)

    cancels = [
        (await bot.command(f"cancel {ref}", user_id="U0RNOBODY2", channel_id="C0RPROBE3")).json()["text"]
        for ref in refs
    ]
    keeps = [
        (await bot.command(f"keep {ref} 7d", user_id="U0RNOBODY2", channel_id="C0RPROBE3")).json()["text"]
        for ref in (*refs, done.backup_id)
    ]
    for forge in (None, *((f"own:{ref}", ref) for ref in refs)):
        pressed = await bot.press("U0RNOBODY2", pending, "cancel_request", forge=forge)
        await wait_answer(slack, pressed.response_url)
        cancels.append(answers_at(slack, pressed.response_url)[0]["text"])
    for ref in (done.request_id, missing):
        pressed = await bot.press("U0RNOBODY2", pending, "keep_more", forge=(f"keep:{ref}", ref))
        await wait_answer(slack, pressed.response_url)
        keeps.append(answers_at(slack, pressed.response_url)[0]["text"])
    # A guest the web has not met yet is answered after the ack, once Slack said "guest": the same.
    url = slack.response_url()
    ack = await bot.command(f"keep {done.request_id} 7d", user_id="U0RGUESTMGR4", response_url=url)
    assert ack.status_code == 200 and not ack.content.strip()
    await wait_answer(slack, url)
    keeps.append(answers_at(slack, url)[0]["text"])

    assert len(set(cancels)) == 1 and NOT_ALLOWED in cancels[0] and "<@U0RBOSS>" in cancels[0], cancels
    assert len(set(keeps)) == 1 and NOT_ALLOWED in keeps[0], keeps
    for told in (cancels[0], keeps[0]):
        for secret in ("cancelled", "complete", "longer", "There is no", "Only the person", "U0RENG"):
            assert secret not in told, (secret, told)
    assert (await env.stored(request_id_of(pending))).state is State.PENDING_APPROVAL
    assert (await env.stored(done.request_id)).keep_asked != "7d"
    refused = ("refused", "U0RNOBODY2", "no role to read")
    assert (await env.audited(actor="U0RNOBODY2")).count(refused) == len(cancels) + len(keeps) - 1
    assert not [a for a, _, _ in await env.audited(actor="U0RGUESTMGR4") if a == "kept"]
