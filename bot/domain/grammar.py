"""The `/backup` command grammar (DESIGN.md §3): text after the command → one typed command.

Pure: no I/O, never raises on user input. Every rejection is an :class:`Invalid` carrying what is
wrong and the right syntax for the subcommand the user was typing, so the Slack layer only has to
show it — both are :class:`~bot.i18n.Text`, said in the reader's language (the syntax itself is the
same in every language; only its explanations are translated).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain import rules
from bot.domain.lifetimes import Keep, is_start_time, parse_keep
from bot.i18n import Text

COMMAND = "/backup"

LIST_COUNT_DEFAULT = 5
LIST_COUNT_MAX = 20
AUDIT_COUNT_DEFAULT = 20
AUDIT_COUNT_MAX = 100

INSTANCE_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
REGION_RE = re.compile(r"[a-z]{2}(?:-[a-z0-9]+){1,3}")  # cn-north-4, ap-southeast-3, la-north-2
REF_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
REQUEST_ID_RE = re.compile(r"r-[a-z0-9]{10}")
_TOKEN_RE = re.compile(r"\S+")
_DIGITS_RE = re.compile(r"[0-9]{1,6}")

_OPEN_FORM = Text("usage.open_form")


def _usage(*lines: str | tuple[str, Text]) -> Text:
    """Usage lines: the syntax as it is typed, some followed by an explanation in the reader's language."""
    return Text.compose("\n", [line if isinstance(line, str) else Text.compose("", line) for line in lines])


USAGES: dict[str, Text] = {
    "create": _usage(
        (f"{COMMAND} create                                   ", _OPEN_FORM),
        f"{COMMAND} create <instance> <name> [description…]",
        f"{COMMAND} create <instance> <name> [--keep 14d|forever] [--at 21:45] [description…]",
    ),
    "status": _usage(f"{COMMAND} status <backup-id | request-id>"),
    "list": _usage(f"{COMMAND} list <instance> [count]"),
    "cancel": _usage(f"{COMMAND} cancel <request-id>"),
    "keep": _usage(f"{COMMAND} keep <backup-id | request-id> <14d | 12h | 2w | forever>"),
    "help": _usage(f"{COMMAND} help"),
    "audit": _usage(f"{COMMAND} audit [count]"),
}

USAGE = _usage(
    (f"{COMMAND}                                   ", _OPEN_FORM),
    (f"{COMMAND} create                            ", _OPEN_FORM),
    f"{COMMAND} create <instance> <name> [description…]",
    f"{COMMAND} create <instance> <name> --keep 30d --at 21:45 [description…]",
    f"{COMMAND} status <backup-id | request-id>",
    f"{COMMAND} list <instance> [count]",
    f"{COMMAND} cancel <request-id>",
    f"{COMMAND} keep <backup-id | request-id> <14d | forever>",
    f"{COMMAND} help",
)
"""The full usage block shown by ``/backup help`` (the public contract; ``audit`` is not listed)."""

SUBCOMMANDS: tuple[str, ...] = ("create", "status", "list", "cancel", "keep", "help", "audit")


@dataclass(frozen=True, slots=True)
class OpenModal:
    """``/backup`` or ``/backup create``: open the backup form."""


@dataclass(frozen=True, slots=True)
class Create:
    """``/backup create <instance> <name> [description…]``, already valid per the seed's rules."""

    instance: str
    name: str
    description: str = ""
    keep: Keep | None = None  # --keep: None means the policy's default
    at: str = ""  # --at as typed (a clock time or a date and time, read in the requester's zone)


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
class Cancel:
    """``/backup cancel <request-id>``: call off a pending request."""

    request_id: str


@dataclass(frozen=True, slots=True)
class KeepFor:
    """``/backup keep <ref> <duration | forever>``: how long a backup is kept from now on."""

    ref: str
    keep: Keep

    @property
    def is_request_id(self) -> bool:
        return self.ref.startswith("r-")


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

    problem: Text
    usage: Text


Command = OpenModal | Create | Status | List | Cancel | KeepFor | Help | Audit | Invalid


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
    if sub == "cancel":
        return _parse_cancel(rest)
    if sub == "keep":
        return _parse_keep(rest)
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
        return Invalid(Text("problem.name_missing", instance=_shorten(instance)), usage)
    name = name_match.group()
    if _is_slack_markup(name):
        return Invalid(_markup_problem("what.backup_name"), usage)
    if (problem := rules.check_backup_name(name)) is not None:
        return Invalid(problem, usage)
    flags = _create_flags(rest, name_match.end())
    if isinstance(flags, Invalid):
        return flags
    keep, at, end = flags
    description = rest[end:].strip()
    if (problem := rules.check_description(description)) is not None:
        return Invalid(problem, usage)
    return Create(instance=instance, name=name, description=description, keep=keep, at=at)


def _create_flags(rest: str, start: int) -> tuple[Keep | None, str, int] | Invalid:
    """``--keep`` and ``--at`` between the name and the description (each at most once); returns
    them and where the description starts."""
    usage = USAGES["create"]
    keep: Keep | None = None
    at = ""
    seen: set[str] = set()
    while (flag := _TOKEN_RE.search(rest, start)) is not None and flag.group().lower() in ("--keep", "--at"):
        word = flag.group().lower()
        if word in seen:
            return Invalid(Text("problem.flag_twice", flag=word), usage)
        seen.add(word)
        value = _TOKEN_RE.search(rest, flag.end())
        if value is None:
            return Invalid(Text("problem.flag_value", flag=word), usage)
        if word == "--keep":
            keep = parse_keep(value.group())
            if keep is None:
                return Invalid(Text("problem.keep", value=_shorten(value.group())), usage)
        else:
            if not is_start_time(value.group()):
                return Invalid(Text("problem.at", value=_shorten(value.group())), usage)
            at = value.group()
        start = value.end()
    return keep, at, start


def _parse_keep(rest: str) -> Command:
    usage = USAGES["keep"]
    args = rest.split()
    if len(args) != 2:
        return Invalid(Text("problem.keep_words", count=len(args)), usage)
    ref, duration = args
    if _is_slack_markup(ref):
        return Invalid(_markup_problem("what.ref"), usage)
    if REF_RE.fullmatch(ref) is None:
        return Invalid(Text("problem.ref", ref=_shorten(ref)), usage)
    keep = parse_keep(duration)
    if keep is None:
        return Invalid(Text("problem.keep", value=_shorten(duration)), usage)
    return KeepFor(ref=ref, keep=keep)


def _parse_status(rest: str) -> Command:
    usage = USAGES["status"]
    args = rest.split()
    if not args:
        return Invalid(Text("problem.ref_missing"), usage)
    if len(args) > 1:
        return Invalid(Text("problem.status_words", count=len(args)), usage)
    ref = args[0]
    if _is_slack_markup(ref):
        return Invalid(_markup_problem("what.ref"), usage)
    if REF_RE.fullmatch(ref) is None:
        return Invalid(Text("problem.ref", ref=_shorten(ref)), usage)
    return Status(ref=ref)


def _parse_cancel(rest: str) -> Command:
    usage = USAGES["cancel"]
    args = rest.split()
    if len(args) != 1:
        return Invalid(Text("problem.cancel_words", count=len(args)), usage)
    ref = args[0]
    if _is_slack_markup(ref):
        return Invalid(_markup_problem("what.ref"), usage)
    if REQUEST_ID_RE.fullmatch(ref) is None:
        return Invalid(Text("problem.request_id", ref=_shorten(ref)), usage)
    return Cancel(request_id=ref)


def _parse_list(rest: str) -> Command:
    usage = USAGES["list"]
    args = rest.split()
    if not args:
        return Invalid(Text("problem.instance_missing"), usage)
    if len(args) > 2:
        return Invalid(Text("problem.list_words", count=len(args)), usage)
    if (problem := _check_instance(args[0])) is not None:
        return Invalid(problem, usage)
    count = _parse_count(args[1] if len(args) > 1 else None, LIST_COUNT_DEFAULT, LIST_COUNT_MAX)
    if isinstance(count, Text):
        return Invalid(count, usage)
    return List(instance=args[0], count=count)


def _parse_audit(rest: str) -> Command:
    usage = USAGES["audit"]
    args = rest.split()
    if len(args) > 1:
        return Invalid(Text("problem.audit_words", count=len(args)), usage)
    count = _parse_count(args[0] if args else None, AUDIT_COUNT_DEFAULT, AUDIT_COUNT_MAX)
    if isinstance(count, Text):
        return Invalid(count, usage)
    return Audit(count=count)


def _parse_count(token: str | None, default: int, maximum: int) -> int | Text:
    """The count, or a problem sentence. ASCII digits only (``int()`` would accept ``５`` or ``1_0``)."""
    if token is None:
        return default
    problem = Text("problem.count", maximum=maximum, value=_shorten(token))
    if _DIGITS_RE.fullmatch(token) is None:
        return problem
    value = int(token)
    return value if 1 <= value <= maximum else problem


def is_instance_ref(token: str) -> bool:
    """An instance ID, an instance name, or ``<region>/<name>``."""
    region, slash, name = token.partition("/")
    if slash:
        return REGION_RE.fullmatch(region) is not None and INSTANCE_NAME_RE.fullmatch(name) is not None
    return rules.is_instance_id(token) or INSTANCE_NAME_RE.fullmatch(token) is not None


def _check_instance(token: str) -> Text | None:
    if _is_slack_markup(token):
        return _markup_problem("what.instance")
    if is_instance_ref(token):
        return None
    return Text("problem.instance", value=_shorten(token))


def _is_slack_markup(token: str) -> bool:
    # Slack's own markup arrives unescaped (<@U123>, <#C1|x>, <http://x|x>, <!here>), and anything the
    # user typed with < or > was unescaped above: neither can be a name, an ID or an instance.
    return "<" in token or ">" in token


def _markup_problem(what_key: str) -> Text:
    return Text("problem.markup", what=Text(what_key))


def _unknown(word: str) -> Invalid:
    shown = _shorten(word.lower())
    close = difflib.get_close_matches(word.lower(), SUBCOMMANDS, n=1, cutoff=0.5)
    if close:
        problem = Text("problem.unknown_close", word=shown, close=close[0])
    else:
        problem = Text("problem.unknown", word=shown)
    return Invalid(problem, USAGE)


def _shorten(token: str, limit: int = 40) -> str:
    """User text quoted inside a problem: bounded, and without backticks that would break the quoting."""
    token = token.replace("`", "'")
    return token if len(token) <= limit else token[: limit - 1] + "…"
