"""The TaurusDB API's input rules (the seed document), as pure checks.

Each check returns ``None`` when the value is valid, or a sentence naming the rule that was broken,
so the Slack layer, the modal and the cloud models all say the same thing.
"""

from __future__ import annotations

import re

PROJECT_ID_RE = re.compile(r"^[A-Za-z0-9]{32}$")
INSTANCE_ID_RE = re.compile(r"^[A-Za-z0-9]{32}in07$")
BACKUP_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{3,63}$")
DESCRIPTION_MAX = 256
DESCRIPTION_FORBIDDEN = frozenset("!<\"='>&")


def check_project_id(value: str) -> str | None:
    if PROJECT_ID_RE.fullmatch(value):
        return None
    return f"a project ID is exactly 32 letters or digits (got {len(value)} characters)"


def is_instance_id(value: str) -> bool:
    return INSTANCE_ID_RE.fullmatch(value) is not None


def check_instance_id(value: str) -> str | None:
    if is_instance_id(value):
        return None
    return "an instance ID is 36 letters or digits ending in `in07`"


def check_backup_name(value: str) -> str | None:
    if BACKUP_NAME_RE.fullmatch(value):
        return None
    if not value:
        return "a backup name is required"
    if not ("A" <= value[0] <= "Z" or "a" <= value[0] <= "z"):
        return "a backup name must start with a letter"
    if not 4 <= len(value) <= 64:
        return f"a backup name is 4 to 64 characters (got {len(value)})"
    return "a backup name may contain only letters, digits, hyphens (-) and underscores (_)"


def check_description(value: str) -> str | None:
    if len(value) > DESCRIPTION_MAX:
        return f"a description is at most {DESCRIPTION_MAX} characters (got {len(value)})"
    if "\r" in value or "\n" in value:
        return "a description must be a single line (no line breaks)"
    bad = sorted({c for c in value if c in DESCRIPTION_FORBIDDEN})
    if bad:
        return "a description may not contain " + " ".join(bad) + " (none of ! < \" = ' > & are allowed)"
    return None
