"""The `/backup` command grammar (DESIGN.md §3): text after the command → one typed command.

Pure: no I/O, never raises on user input. Every rejection is an :class:`Invalid` carrying what is
wrong and the right syntax for the subcommand the user was typing, so the Slack layer only has to
show it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain import rules

COMMAND = "/backup"

LIST_COUNT_DEFAULT = 5
LIST_COUNT_MAX = 20
AUDIT_COUNT_DEFAULT = 20
AUDIT_COUNT_MAX = 100

INSTANCE_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
REF_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_TOKEN_RE = re.compile(r"\S+")
_DIGITS_RE = re.compile(r"[0-9]{1,6}")

USAGES: dict[str, str] = {
    "create": (
        f"{COMMAND} create                                   open the backup form\n"
        f"{COMMAND} create <instance> <name> [description…]"
    ),
    "status": f"{COMMAND} status <backup-id | request-id>",
    "list": f"{COMMAND} list <instance> [count]",
    "help": f"{COMMAND} help",
    "audit": f"{COMMAND} audit [count]",
}

USAGE = "\n".join(
    [
        f"{COMMAND}                                   open the backup form",
        f"{COMMAND} create                            open the backup form",
        f"{COMMAND} create <instance> <name> [description…]",
        f"{COMMAND} status <backup-id | request-id>",
        f"{COMMAND} list <instance> [count]",
        f"{COMMAND} help",
    ]
)
"""The full usage block shown by ``/backup help`` (the public contract; ``audit`` is not listed)."""

SUBCOMMANDS: tuple[str, ...] = ("create", "status", "list", "help", "audit")


@dataclass(frozen=True, slots=True)
class OpenModal:
    """``/backup`` or ``/backup create``: open the backup form."""


@dataclass(frozen=True, slots=True)
class Create:
    """``/backup create <instance> <name> [description…]``, already valid per the seed's rules."""

    instance: str
    name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Status:
    """``/backup status <ref>``: ``ref`` is a backup ID or a request ID (``r-…``)."""

    ref: str

    @property
    def is_request_id(self) -> bool:
        return self.ref.startswith("r-")


@dataclass(frozen=True, slots=True)
class List:
    """``/backup list <instance> [count]``."""

    instance: str
    count: int = LIST_COUNT_DEFAULT


@dataclass(frozen=True, slots=True)
class Help:
    """``/backup help``."""


@dataclass(frozen=True, slots=True)
class Audit:
    """``/backup audit [count]``: the latest audit entries."""

    count: int = AUDIT_COUNT_DEFAULT


@dataclass(frozen=True, slots=True)
class Invalid:
    """What is wrong (a sentence for the user) and the syntax that would have worked."""

    problem: str
    usage: str


Command = OpenModal | Create | Status | List | Help | Audit | Invalid


def unescape_slack(text: str) -> str:
    """Undo Slack's escaping of ``&``, ``<`` and ``>``; ``&amp;`` last, so ``&amp;lt;`` stays ``&lt;``."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def default_backup_name(now: datetime) -> str:
    """``pre-change-YYYYmmdd-HHMMSS`` for ``now`` (aware times are converted to UTC first)."""
    if now.tzinfo is not None:
        now = now.astimezone(UTC)
    return now.strftime("pre-change-%Y%m%d-%H%M%S")


def parse(text: str) -> Command:
    """Parse the text after ``/backup`` as Slack sends it (``&amp; &lt; &gt;`` escaped)."""
    text = unescape_slack(text)
    head = _TOKEN_RE.search(text)
    if head is None:
        return OpenModal()
    sub = head.group().lower()
    rest = text[head.end() :]
    if sub == "create":
        return _parse_create(rest)
    if sub == "status":
        return _parse_status(rest)
    if sub == "list":
        return _parse_list(rest)
    if sub == "help":
        return Help()
    if sub == "audit":
        return _parse_audit(rest)
    return _unknown(head.group())


def _parse_create(rest: str) -> Command:
    usage = USAGES["create"]
    instance_match = _TOKEN_RE.search(rest)
    if instance_match is None:
        return OpenModal()
    instance = instance_match.group()
    if (problem := _check_instance(instance)) is not None:
        return Invalid(problem, usage)
    name_match = _TOKEN_RE.search(rest, instance_match.end())
    if name_match is None:
        return Invalid(f"the backup name is missing after the instance `{_shorten(instance)}`", usage)
    name = name_match.group()
    if _is_slack_markup(name):
        return Invalid(_markup_problem("backup name"), usage)
    if (problem := rules.check_backup_name(name)) is not None:
        return Invalid(problem, usage)
    description = rest[name_match.end() :].strip()
    if (problem := rules.check_description(description)) is not None:
        return Invalid(problem, usage)
    return Create(instance=instance, name=name, description=description)


def _parse_status(rest: str) -> Command:
    usage = USAGES["status"]
    args = rest.split()
    if not args:
        return Invalid("the backup ID or request ID is missing", usage)
    if len(args) > 1:
        return Invalid(f"status takes one backup ID or request ID (got {len(args)} words)", usage)
    ref = args[0]
    if _is_slack_markup(ref):
        return Invalid(_markup_problem("backup ID or request ID"), usage)
    if REF_RE.fullmatch(ref) is None:
        return Invalid(
            f"`{_shorten(ref)}` is not a backup ID or a request ID (letters, digits, - and _ only)", usage
        )
    return Status(ref=ref)


def _parse_list(rest: str) -> Command:
    usage = USAGES["list"]
    args = rest.split()
    if not args:
        return Invalid("the instance is missing", usage)
    if len(args) > 2:
        return Invalid(f"list takes an instance and an optional count (got {len(args)} words)", usage)
    if (problem := _check_instance(args[0])) is not None:
        return Invalid(problem, usage)
    count = _parse_count(args[1] if len(args) > 1 else None, LIST_COUNT_DEFAULT, LIST_COUNT_MAX)
    if isinstance(count, str):
        return Invalid(count, usage)
    return List(instance=args[0], count=count)


def _parse_audit(rest: str) -> Command:
    usage = USAGES["audit"]
    args = rest.split()
    if len(args) > 1:
        return Invalid(f"audit takes an optional count (got {len(args)} words)", usage)
    count = _parse_count(args[0] if args else None, AUDIT_COUNT_DEFAULT, AUDIT_COUNT_MAX)
    if isinstance(count, str):
        return Invalid(count, usage)
    return Audit(count=count)


def _parse_count(token: str | None, default: int, maximum: int) -> int | str:
    """The count, or a problem sentence. ASCII digits only (``int()`` would accept ``５`` or ``1_0``)."""
    if token is None:
        return default
    problem = f"the count is a whole number from 1 to {maximum} (got `{_shorten(token)}`)"
    if _DIGITS_RE.fullmatch(token) is None:
        return problem
    value = int(token)
    return value if 1 <= value <= maximum else problem


def _check_instance(token: str) -> str | None:
    if _is_slack_markup(token):
        return _markup_problem("instance")
    if rules.is_instance_id(token) or INSTANCE_NAME_RE.fullmatch(token):
        return None
    return (
        f"`{_shorten(token)}` is not an instance ID or an instance name "
        "(1 to 64 letters, digits, `-`, `_` or `.`)"
    )


def _is_slack_markup(token: str) -> bool:
    # Slack's own markup arrives unescaped (<@U123>, <#C1|x>, <http://x|x>, <!here>), and anything the
    # user typed with < or > was unescaped above: neither can be a name, an ID or an instance.
    return "<" in token or ">" in token


def _markup_problem(what: str) -> str:
    return (
        f"the {what} looks like a link or a mention (Slack turned it into `<…>`); "
        "type it as plain text, without @, # or a link"
    )


def _unknown(word: str) -> Invalid:
    shown = _shorten(word.lower())
    close = difflib.get_close_matches(word.lower(), SUBCOMMANDS, n=1, cutoff=0.5)
    if close:
        problem = f"unknown subcommand `{shown}`: did you mean `{close[0]}`?"
    else:
        problem = f"unknown subcommand `{shown}`; the subcommands are create, status, list and help"
    return Invalid(problem, USAGE)


def _shorten(token: str, limit: int = 40) -> str:
    """User text quoted inside a problem: bounded, and without backticks that would break the quoting."""
    token = token.replace("`", "'")
    return token if len(token) <= limit else token[: limit - 1] + "…"
