#!/usr/bin/env python3
"""The project's two commands, for a fresh machine with only Python 3.11+.

    python3 dev.py run    set up .venv (runtime deps) and start the bot (`python -m bot`)
    python3 dev.py test   set up .venv (with dev deps), then ruff, mypy, lint-imports and pytest

Extra arguments after the command go to `python -m bot` or to pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def _ensure_venv(extra: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs before the package is installed
        sys.exit(f"backup-bot needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        print("creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extra or 'runtime'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"installing backup-bot{f'[{extra}]' if extra else ''} into .venv", flush=True)
    target = f".[{extra}]" if extra else "."
    subprocess.run(
        [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", target],
        cwd=ROOT,
        check=True,
    )
    stamp.write_text(digest)


def _run(*argv: str) -> int:
    print("$", " ".join(argv), flush=True)
    return subprocess.run(argv, cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command == "run":
        _ensure_venv("")
        os.execv(str(PY), [str(PY), "-m", "bot", *rest])
    if command == "test":
        _ensure_venv("dev")
        for step in (
            [str(PY), "-m", "ruff", "check", "bot", "tests", "bench", "dev.py"],
            [str(PY), "-m", "ruff", "format", "--check", "bot", "tests", "bench", "dev.py"],
            [str(PY), "-m", "mypy"],
            [str(BIN / "lint-imports")],  # the layer contract in pyproject.toml
        ):
            if (code := _run(*step)) != 0:
                return code
        code = _run(str(PY), "-m", "pytest", *rest)
        if code == 5:
            print("pytest collected no tests: that is a failure here", file=sys.stderr)
            return 1
        return code
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
