"""End-to-end fixtures: a fake Slack in this process, everything else as real child processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.local.fake_slack import FakeSlack
from tests.e2e.harness import Deployment


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


DeploymentFactory = Callable[..., Awaitable[Deployment]]


@pytest.fixture
async def deploy(
    redis_url: str, redis: object, fake_slack: FakeSlack, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[DeploymentFactory]:
    """``await deploy(workers=1)`` starts simulator, web and workers; all stopped at teardown, with
    their logs attached to a failing test's report."""
    started: list[Deployment] = []

    async def factory(
        *,
        workers: int = 1,
        poll_interval: float = 0.3,
        poll_timeout: float | None = None,
        simulator_args: tuple[str, ...] = (),
        policy: str | None = None,
        env: dict[str, str] | None = None,
        redis: str | None = None,
    ) -> Deployment:
        deployment = Deployment(
            redis_url=redis or redis_url, slack=fake_slack, log_dir=tmp_path, poll_interval=poll_interval
        )
        if poll_timeout is not None:
            deployment.env["BACKUP_POLL_TIMEOUT"] = str(poll_timeout)
        if policy is not None:
            policy_file = tmp_path / f"policy-{len(started)}.yaml"
            policy_file.write_text(policy)
            deployment.env["BACKUP_POLICY_FILE"] = str(policy_file)
        deployment.env.update(env or {})
        started.append(deployment)
        return await deployment.start(workers=workers, simulator_args=simulator_args)

    yield factory
    for deployment in started:
        deployment.stop()
        if request.node.stash.get(_FAILED, False):
            print(deployment.logs())


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if getattr(report, "failed", False):
        item.stash[_FAILED] = True
    return report
