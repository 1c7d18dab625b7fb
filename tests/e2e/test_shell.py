"""Local mode end to end: ``python -m bot`` with no Slack or cloud credentials and a script on stdin.

Each test runs the real entry point as a child process, with no contract variable set and its own
local folder, and asserts on the transcript it prints, its exit status, and that nothing it started
(the embedded Redis server) is left running.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_CONTRACT = ("SLACK_", "HUAWEICLOUD_", "TAURUSDB_", "BACKUP_", "REDIS_URL", "AUDIT_CHANNEL", "PORT")


def run_shell(script: str, local_dir: Path, *, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(_CONTRACT)}
    env |= {"BACKUP_BOT_LOCAL_DIR": str(local_dir), "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        input=script,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
        check=False,
    )


def processes_using(path: Path) -> list[str]:
    """Live processes working in ``path`` or holding a file under it. (The embedded Redis works in
    its data folder; it rewrites its command line, so that cannot be used to find it.)"""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        if proc.name == str(os.getpid()):
            continue
        try:
            places = [os.readlink(proc / "cwd")] + [os.readlink(fd) for fd in (proc / "fd").iterdir()]
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(place.startswith(str(path)) for place in places):
            found.append(f"{proc.name}: {title}")
    return found


def assert_clean_exit(result: subprocess.CompletedProcess[str], local_dir: Path) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "the bot logged an error" not in result.stdout
    assert "stopped: worker, simulator, fake Slack and Redis are down" in result.stdout
    assert processes_using(local_dir) == []


def block_after(lines: list[str], heading: re.Pattern[str]) -> list[str]:
    """The heading line matching ``heading`` and the gutter lines under it."""
    for i, line in enumerate(lines):
        if heading.search(line):
            body = [line]
            for following in lines[i + 1 :]:
                if "│" not in following:
                    break
                body.append(following)
            return body
    raise AssertionError(f"no line matches {heading.pattern!r} in:\n" + "\n".join(lines))


def test_a_scripted_session_takes_a_backup_and_keeps_its_data(tmp_path: Path) -> None:
    result = run_shell(
        "/backup help\n/backup create orders-dev pre-demo-1 trying the shell\n:wait\n:quit\n",
        tmp_path,
    )
    assert_clean_exit(result, tmp_path)
    out = result.stdout
    lines = out.splitlines()
    assert "You are oscar (operator) in #backups." in out
    assert "oscar> /backup help" in lines
    assert "/backup create <instance> <name> [description…]" in out
    assert "oscar> /backup create orders-dev pre-demo-1 trying the shell" in lines
    [request_id] = set(re.findall(r"Request `(r-[a-z0-9]+)` received", out))

    parent = block_after(lines, re.compile(r"^#backups · message (\d+) · backup-bot$"))
    parent_number = re.findall(r"message (\d+)", parent[0])[0]
    # local mode serves two regions, so instances read <region>/<name>
    assert "  │ Backup `pre-demo-1` of ap-southeast-3/orders-dev" in parent
    assert any(line.startswith("  │ Requested by: @oscar") for line in parent)

    thread = re.compile(rf"^    ↳ message \d+, in the thread of message {parent_number} \(#backups\)")
    created = block_after(lines, thread)
    [backup_id] = re.findall(r"Backup ID: `([0-9a-f]{32}br07)`", "\n".join(created))
    assert all(line.startswith("      │ ") for line in created[1:])

    finished = next(line for line in lines if "completed (" in line and line.startswith("      │ "))
    assert finished.startswith("      │ @oscar ✅ Backup `pre-demo-1` of ap-southeast-3/orders-dev completed")
    assert lines.index(finished) > lines.index(created[0])
    assert any(line.startswith("✎ updated: message " + parent_number) for line in lines)
    assert "  (every request is finished)" in lines
    assert (tmp_path / "redis").is_dir() and (tmp_path / "bot.log").is_file()

    # A second session over the same local folder still knows the request (Redis kept it, AOF on).
    again = run_shell(f"/backup status {request_id}\n", tmp_path)
    assert_clean_exit(again, tmp_path)
    assert "✅ Backup completed" in again.stdout and backup_id in again.stdout


def test_an_approver_approves_an_operators_backup_of_production(tmp_path: Path) -> None:
    result = run_shell(
        "/backup create orders-prod pre-change-7 before the schema change\n"  # in both regions
        ":wait\n"
        "/backup create ap-southeast-3/orders-prod pre-change-7 before the schema change\n"
        ":wait\n"
        ":click Approve\n"
        ":as carol\n"
        ":click Approve\n"
        ":wait\n",  # and EOF ends the session
        tmp_path,
    )
    assert_clean_exit(result, tmp_path)
    out = result.stdout
    lines = out.splitlines()
    # a name in two regions is refused privately, with both qualified choices, before anything is posted
    assert "`ap-southeast-3/orders-prod`, `cn-north-4/orders-prod`" in out
    parent = block_after(lines, re.compile(r"^#backups · message \d+ · backup-bot$"))
    assert "  │ ✋ Backup waiting for approval" in parent
    assert any(re.fullmatch(r"  │ \[\d+ Approve\]  \[\d+ Reject\]", line) for line in parent)
    assert "(1 request(s) wait for an approver" in out

    # the requester cannot approve their own request: told privately, nothing changes
    own = lines.index("oscar> :click Approve")
    assert "🔒 only oscar sees this" in "\n".join(lines[own : lines.index("carol> :click Approve")])

    assert "  (carol pressed [Approve] on message 1)" in lines
    assert any(line.startswith("      │ ✅ Approved by @carol") for line in lines)
    finished = [
        line
        for line in lines
        if line.startswith("      │ @oscar ✅ Backup `pre-change-7` of ap-southeast-3/orders-prod")
    ]
    assert len(finished) == 1 and "completed" in finished[0]
    assert "  (every request is finished)" in lines


def test_the_form_asks_field_by_field_and_shows_inline_errors(tmp_path: Path) -> None:
    result = run_shell(
        "/backup\n"
        "orders\n"  # three instances match (two regions): the shell lists them
        "orders-dev\n"
        "1-bad-name\n"
        "\n"
        "\n"
        "\n"  # kept for the policy's default
        "\n"  # no start time: at once
        "form-made-1\n"  # asked again after the bot's inline error
        ":quit\n",
        tmp_path,
    )
    assert_clean_exit(result, tmp_path)
    out = result.stdout
    assert "▢ form “Take a backup” for oscar" in out
    assert "✖ 3 choices match 'orders'" in out
    assert "    Backup name [1-bad-name]> form-made-1" in out
    assert re.search(r"✖ Backup name: .*letter", out)
    assert "Request `r-" in out and "backup `form-made-1`" in out
    assert "Backup `form-made-1` of ap-southeast-3/orders-dev" in out


def test_the_home_tab_takes_a_backup_and_approves_it_and_follows_it_to_the_end(tmp_path: Path) -> None:
    result = run_shell(
        ":as alice\n"
        ":home\n"
        ":click Take a backup\n"
        "ap-southeast-3/orders-prod\n"  # instance
        "pre-change-8\n"  # backup name
        "before the schema change\n"  # description
        "\n"  # no reference
        "\n"  # kept for the policy's default
        "\n"  # no start time: at once
        "\n"  # the channel: the [#backups] default
        ":as carol\n"
        ":home\n"
        ":click Approve\n"
        ":wait\n"
        ":as alice\n"
        ":home\n",
        tmp_path,
    )
    assert_clean_exit(result, tmp_path)
    lines = result.stdout.splitlines()
    alice_home = re.compile(r"^⌂ alice's Home · backup-bot$")
    first = block_after(lines, alice_home)
    assert "  │ You are a requester. Every backup you ask for waits for an approver." in first
    assert "  │ [1 Take a backup]" in first
    assert any("You have not asked for a backup yet" in line for line in first)

    assert "  (alice pressed [Take a backup] on the Home tab)" in lines
    assert "    Post the request in [#backups]> " in lines  # the Home has no channel: the form asks
    # the private acknowledgement names the instance as the form showed it, not by its bare ID
    assert any(
        re.search(r"received: backup `pre-change-8` of ap-southeast-3/orders-prod\.", line) for line in lines
    )
    parent = block_after(lines, re.compile(r"^#backups · message 1 · backup-bot$"))
    assert "  │ ✋ Backup waiting for approval" in parent
    assert any(line.startswith("  │ Requested by: @alice") for line in parent)

    carol = block_after(lines, re.compile(r"^⌂ carol's Home · backup-bot$"))
    waiting = carol[carol.index("  │ Waiting for you") :]
    assert waiting[1].startswith("  │ @alice asks for `pre-change-8` of ap-southeast-3/orders-prod — 0 of 1")
    assert re.fullmatch(r"  │ \[\d+ Approve\]  \[\d+ Reject\]", waiting[2])
    assert "  (carol pressed [Approve] on the Home tab)" in lines
    assert any(line.startswith("      │ ✅ Approved by @carol") for line in lines)
    finished = [line for line in lines if line.startswith("      │ @alice ✅ Backup `pre-change-8`")]
    assert len(finished) == 1 and "completed" in finished[0]

    opened = [i for i, line in enumerate(lines) if alice_home.search(line)]
    assert len(opened) == 2  # her Home is printed when she asks for it, not each time it is published
    between = lines[opened[0] : opened[1]]
    assert between.count("  (alice's Home changed; :as alice, then :home, shows it)") == 1
    last = block_after(lines[opened[1] :], alice_home)
    assert "  │ [1 Take a backup]" in last  # the same button keeps its number
    mine = last[last.index("  │ Your requests") + 1 :]
    assert mine[0].startswith("  │ ✅ `pre-change-8` of ap-southeast-3/orders-prod — completed · ")
    assert mine[1].startswith("  │ Open the thread (https://")
