"""The TaurusDB API's input rules (the seed document), as pure checks.

Each check returns ``None`` when the value is valid, or a sentence naming the rule that was broken
(a :class:`~bot.i18n.Text`: English as a string, any catalog language through ``render``), so the
Slack layer, the modal and the cloud models all say the same thing.
"""

from __future__ import annotations

import re
import unicodedata

from bot.i18n import Text

PROJECT_ID_RE = re.compile(r"^[A-Za-z0-9]{32}$")
INSTANCE_ID_RE = re.compile(r"^[A-Za-z0-9]{32}in07$")
BACKUP_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{3,63}$")
DESCRIPTION_MAX = 256
DESCRIPTION_FORBIDDEN = frozenset("!<\"='>&")


def check_project_id(value: str) -> Text | None:
    if PROJECT_ID_RE.fullmatch(value):
        return None
    return Text("rule.project_id", length=len(value))


def is_instance_id(value: str) -> bool:
    return INSTANCE_ID_RE.fullmatch(value) is not None


def check_instance_id(value: str) -> Text | None:
    if is_instance_id(value):
        return None
    return Text("rule.instance_id")


def check_backup_name(value: str) -> Text | None:
    if BACKUP_NAME_RE.fullmatch(value):
        return None
    if not value:
        return Text("rule.name_required")
    if not ("A" <= value[0] <= "Z" or "a" <= value[0] <= "z"):
        return Text("rule.name_start")
    if not 4 <= len(value) <= 64:
        return Text("rule.name_length", length=len(value))
    return Text("rule.name_chars")


# Characters that can make text read as something else: control characters (NUL, BEL, ESC…), format
# characters (bidi overrides such as U+202E, zero-width spaces and joiners, soft hyphens), line and
# paragraph separators, surrogates, private-use and unassigned code points.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def hidden_characters(value: str, *, allow: str = "") -> list[str]:
    """The characters of ``value`` that do not show as themselves (``allow`` lists exceptions, e.g.
    a newline in a multi-line reason), each once, as ``U+XXXX`` in order of appearance."""
    found: dict[str, None] = {}
    for char in value:
        if char not in allow and unicodedata.category(char) in _HIDDEN_CATEGORIES:
            found[f"U+{ord(char):04X}"] = None
    return list(found)


def check_free_text(value: str, *, allow: str = "") -> Text | None:
    """Free text people type (descriptions, references, reasons) shows as itself or is refused."""
    if hidden := hidden_characters(value, allow=allow):
        return Text("rule.hidden_chars", found=", ".join(hidden[:5]))
    return None


def check_description(value: str) -> Text | None:
    if len(value) > DESCRIPTION_MAX:
        return Text("rule.description_length", maximum=DESCRIPTION_MAX, length=len(value))
    if "\r" in value or "\n" in value:
        return Text("rule.description_line")
    bad = sorted({c for c in value if c in DESCRIPTION_FORBIDDEN})
    if bad:
        return Text("rule.description_chars", found=" ".join(bad))
    return check_free_text(value)
