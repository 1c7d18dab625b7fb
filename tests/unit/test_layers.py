"""The layer contract (pyproject.toml, import-linter) holds, and it would catch a violation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--config", str(project / "pyproject.toml"), "--no-cache"],
        cwd=project,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "bot", tmp_path / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contract_holds(copy: Path) -> None:
    result = _lint(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("bot/domain/leak.py", "import bot.store.keys\n", "Layers"),
        ("bot/store/leak.py", "import bot.app.work\n", "Layers"),
        ("bot/slack/leak.py", "import bot.worker.runner\n", "Layers"),
        ("bot/worker/leak.py", "import bot.local.fake_slack\n", "never imports bot.local"),
        ("bot/domain/leak.py", "import redis\n", "pure core"),
    ],
)
def test_a_violating_import_breaks_it(copy: Path, module: str, line: str, contract: str) -> None:
    (copy / module).write_text(line)
    result = _lint(copy)
    assert result.returncode != 0
    broken = [row for row in result.stdout.splitlines() if row.endswith("BROKEN")]
    assert any(contract in row for row in broken), result.stdout
