"""The fake Slack's rate limits, like Slack's: a bucket per channel for chat.postMessage and per-method
tiers, answering HTTP 429 with a Retry-After that says when the next call would pass."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.local.fake_slack import FakeSlack, Knobs, dm_channel_id, slack_tier_limits


class Clock:
    """A clock the test moves by hand, so refills are exact."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fake(clock: Clock) -> AsyncIterator[FakeSlack]:
    async with FakeSlack(clock=clock) as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=fake.url)


async def post(client: AsyncWebClient, channel: str) -> tuple[int, str | None]:
    """(HTTP status, Retry-After) of one post."""
    try:
        answer = await client.chat_postMessage(channel=channel, text="hi")
    except SlackApiError as exc:
        assert exc.response["error"] == "ratelimited"
        return exc.response.status_code, exc.response.headers.get("Retry-After")
    return answer.status_code, None


async def test_no_limits_by_default(fake: FakeSlack, client: AsyncWebClient) -> None:
    for _ in range(20):
        assert await post(client, "C1") == (200, None)
    for _ in range(5):
        await client.chat_update(channel="C1", ts=fake.messages("C1")[0]["ts"], text="again")
    assert {c.status for c in fake.calls()} == {200}


async def test_a_channel_tolerates_a_burst_then_one_post_per_interval(
    fake: FakeSlack, client: AsyncWebClient, clock: Clock
) -> None:
    fake.knobs.post_rate = 0.5  # one post every 2 s
    fake.knobs.post_burst = 2
    assert [await post(client, "C1") for _ in range(3)] == [(200, None), (200, None), (429, "2")]
    assert await post(client, "C2") == (200, None)  # another channel has its own budget

    clock.advance(1)
    assert await post(client, "C1") == (429, "1")  # Retry-After counts down to the next token
    clock.advance(1)
    assert await post(client, "C1") == (200, None)
    assert await post(client, "C1") == (429, "2")

    refused = [c for c in fake.calls("chat.postMessage") if c.status == 429]
    assert [(c.args["channel"], c.error) for c in refused] == [("C1", "ratelimited")] * 3
    assert len(fake.messages("C1")) == 3  # a refused post is not posted


async def test_a_quiet_channel_gets_its_burst_back(
    fake: FakeSlack, client: AsyncWebClient, clock: Clock
) -> None:
    fake.knobs.post_rate = 1
    fake.knobs.post_burst = 3
    assert [(await post(client, "C1"))[0] for _ in range(4)] == [200, 200, 200, 429]
    clock.advance(60)
    assert [(await post(client, "C1"))[0] for _ in range(4)] == [200, 200, 200, 429]


async def test_posting_to_a_user_id_spends_the_budget_of_their_dm(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.knobs.post_rate = 1
    fake.knobs.post_burst = 1
    assert await post(client, "U1") == (200, None)
    assert await post(client, dm_channel_id("U1")) == (429, "1")


async def test_tier_limits_per_method(fake: FakeSlack, client: AsyncWebClient, clock: Clock) -> None:
    posted = await client.chat_postMessage(channel="C1", text="v0")
    fake.knobs.tier_limits = {"chat.update": 3}
    statuses = []
    for n in range(4):
        try:
            statuses.append(
                (await client.chat_update(channel="C1", ts=posted["ts"], text=f"v{n}")).status_code
            )
        except SlackApiError as exc:
            statuses.append(exc.response.status_code)
            assert exc.response.headers["Retry-After"] == "20"  # 3 a minute: one more every 20 s
    assert statuses == [200, 200, 200, 429]
    assert (await client.auth_test())["ok"] is True  # other methods keep their own budget
    clock.advance(20)
    assert (await client.chat_update(channel="C1", ts=posted["ts"], text="later")).status_code == 200
    assert [c.status for c in fake.calls("chat.update")] == [200, 200, 200, 429, 200]


def test_slack_tiers() -> None:
    limits = slack_tier_limits()
    assert limits["chat.update"] == 50  # Tier 3
    assert limits["views.publish"] == limits["users.info"] == 100  # Tier 4
    assert limits["usergroups.users.list"] == 20  # Tier 2
    assert "chat.postMessage" not in limits  # special: per channel, see post_rate


async def test_a_post_bucket_and_a_tier_together(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.knobs.post_rate = 1
    fake.knobs.post_burst = 5
    fake.knobs.tier_limits = {"chat.postMessage": 2}  # a workspace-wide cap below the channel's
    assert [(await post(client, ch))[0] for ch in ("C1", "C2", "C3")] == [200, 200, 429]


async def test_slack_sdks_retry_handler_waits_for_retry_after() -> None:
    async with FakeSlack() as fake:  # the real clock: the handler really sleeps
        fake.knobs.post_rate = 1
        fake.knobs.post_burst = 1
        client = AsyncWebClient(
            token="xoxb-test",
            base_url=fake.url,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
        )
        await client.chat_postMessage(channel="C1", text="one")
        assert (await client.chat_postMessage(channel="C1", text="two"))["ok"] is True
        assert [c.status for c in fake.calls("chat.postMessage")] == [200, 429, 200]
        assert [m["text"] for m in fake.messages("C1")] == ["one", "two"]


async def test_scripted_429s_come_first_and_are_counted(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.knobs.post_rate = 1
    fake.knobs.post_burst = 1
    fake.knobs.rate_limit_next = {"chat.postMessage": 1}
    fake.knobs.retry_after = 7
    assert await post(client, "C1") == (429, "7")
    assert await post(client, "C1") == (200, None)  # the scripted 429 did not spend the bucket


def test_limit_knobs_from_json() -> None:
    knobs = Knobs()
    knobs.update({"post_rate": "1.5", "post_burst": "4", "tier_limits": {"views.publish": "100"}})
    assert (knobs.post_rate, knobs.post_burst, knobs.tier_limits) == (1.5, 4, {"views.publish": 100})
    assert knobs.to_json()["tier_limits"] == {"views.publish": 100}
