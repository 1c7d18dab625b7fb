"""The state file: a JSON snapshot written atomically (temporary file + rename) and read at start."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def read_snapshot(path: Path) -> dict[str, Any] | None:
    """The saved snapshot, or None when there is no file yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a simulator snapshot")
    return data


def write_snapshot(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` in one step, so a crash leaves either the old or the new snapshot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
