"""Typed TaurusDB/API-gateway errors and the one table that maps error codes to what they mean.

The bot branches only on ``category`` (derived from ``error_code`` first, the HTTP status second),
never on ``error_msg``, whose language follows ``X-Language``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Category(StrEnum):
    BAD_INPUT = "bad_input"
    NOT_FOUND = "not_found"
    BUSY = "busy"  # another operation or backup is running on the instance
    THROTTLED = "throttled"
    AUTH = "auth"
    PERMISSION = "permission"
    SERVER = "server"


@dataclass(frozen=True)
class Advice:
    category: Category
    retryable: bool  # worth trying again later (with backoff)
    note: str = ""


_BAD = Advice(Category.BAD_INPUT, False)
_NOT_FOUND = Advice(Category.NOT_FOUND, False)
_BUSY = Advice(Category.BUSY, True, "another operation is running on the instance")
_BUSY_FINAL = Advice(Category.BUSY, False)
_PERM = Advice(Category.PERMISSION, False)
_SERVER = Advice(Category.SERVER, True)

ERROR_CODES: dict[str, Advice] = {
    # parameters
    **dict.fromkeys(
        ["DBS.200001", "DBS.200004", "DBS.280001", "DBS.290000", "DBS.212017", "DBS.200006"], _BAD
    ),
    "DBS.280277": Advice(Category.BAD_INPUT, False, "invalid backup name"),
    "DBS.280127": Advice(Category.BAD_INPUT, False, "invalid backup description"),
    "DBS.280404": Advice(Category.BAD_INPUT, False, "invalid instance ID format"),
    "DBS.280439": Advice(Category.BAD_INPUT, False, "limit must be 1 to 100"),
    "DBS.201210": Advice(Category.BAD_INPUT, False, "invalid backup name"),
    "DBS.201208": Advice(Category.BAD_INPUT, False, "not allowed in the backup's status"),
    # instance state
    "DBS.200086": _BUSY,
    "DBS.201014": _BUSY,
    "DBS.280449": Advice(Category.BUSY, False, "the instance is frozen"),
    "DBS.200316": Advice(Category.BUSY, False, "the instance's storage is full"),
    "DBS.280406": Advice(Category.BUSY, False, "not allowed for the instance's type or status"),
    **dict.fromkeys(
        (
            "DBS.200011",
            "DBS.200019",
            "DBS.200047",
            "DBS.201202",
            "DBS.212006",
            "DBS.201015",
            "DBS.05000084",
            "DBS.212033",
        ),
        _BUSY,
    ),
    "DBS.201205": Advice(Category.BUSY, True, "a backup of this instance is already in progress"),
    "DBS.201209": Advice(Category.BAD_INPUT, False, "the backup name already exists"),
    # not found
    **dict.fromkeys(
        (
            "DBS.200002",
            "DBS.200045",
            "DBS.200408",
            "DBS.200602",
            "DBS.201028",
            "DBS.290005",
            "DBS.290011",
            "DBS.290013",
        ),
        _NOT_FOUND,
    ),
    "DBS.201203": _NOT_FOUND,
    "DBS.280214": _NOT_FOUND,
    "DBS.201010": _NOT_FOUND,
    "DBS.200543": Advice(Category.NOT_FOUND, True, "the job is not visible yet (or older than a month)"),
    # permission / auth
    **dict.fromkeys(["DBS.200010", "DBS.200604", "DBS.200044", "DBS.201003", "DBS.280015"], _PERM),
    "DBS.280056": Advice(Category.AUTH, True, "invalid token"),
    "DBS.200046": Advice(Category.BAD_INPUT, False, "instance quota reached"),
    "DBS.290003": Advice(Category.BAD_INPUT, False, "instance quota reached"),
    # server
    **dict.fromkeys(
        (
            "DBS.108000",
            "DBS.108002",
            "DBS.108005",
            "DBS.200005",
            "DBS.200208",
            "DBS.213002",
            "DBS.213004",
            "DBS.290006",
            "DBS.290015",
        ),
        _SERVER,
    ),
    # API gateway
    # APIGW.0301 covers an expired token and a bad AK/SK signature alike, and its message is localised
    # (X-Language), so it is never retried by the bot: the token auth has already refreshed once on it
    # (by status and code), and an AK locks for five minutes after more than five signature failures.
    "APIGW.0301": Advice(Category.AUTH, False, "incorrect IAM authentication information"),
    "APIGW.0307": Advice(Category.AUTH, True, "the token must be updated"),
    "APIGW.0303": Advice(Category.AUTH, False, "incorrect app authentication information"),
    "APIGW.0305": Advice(Category.AUTH, False, "incorrect authentication information"),
    "APIGW.0302": _PERM,
    "APIGW.0306": _PERM,
    "APIGW.0310": Advice(Category.PERMISSION, False, "the project is unavailable"),
    "APIGW.0308": Advice(Category.THROTTLED, True, "the throttling threshold has been reached"),
    "APIGW.0101": Advice(Category.NOT_FOUND, False, "the API does not exist (wrong endpoint?)"),
    "APIGW.0201": _BAD,
}

_BY_STATUS: dict[int, Advice] = {
    400: _BAD,
    401: Advice(Category.AUTH, False),
    403: _PERM,
    404: _NOT_FOUND,
    409: _BUSY,
    413: _BAD,
    429: Advice(Category.THROTTLED, True),
}


def advise(status: int, error_code: str) -> Advice:
    """What an error means: by its code when the table knows it, else by HTTP status."""
    if error_code in ERROR_CODES:
        return ERROR_CODES[error_code]
    if error_code.startswith("APIG.") and "APIGW." + error_code[5:] in ERROR_CODES:
        return ERROR_CODES["APIGW." + error_code[5:]]
    if status >= 500:
        return _SERVER
    return _BY_STATUS.get(status, _BAD)


def parse_error_body(body: bytes) -> tuple[str, str]:
    """(error_code, error_msg) from any error-body shape the gateway or service uses.

    Known shapes: ``{error_code, error_msg}``, ``{errorCode, errorMsg}``, ``{code, message}``, and
    any of those nested one level down (``{"error": {...}}``). Returns empty strings when none fit.
    """
    try:
        data: Any = json.loads(body or b"null")
    except ValueError:
        return "", body[:200].decode("utf-8", "replace").strip()
    candidates: list[Any] = [data]
    if isinstance(data, dict):
        candidates += [v for v in data.values() if isinstance(v, dict)]
    for item in candidates:
        if not isinstance(item, dict):
            continue
        for code_key, msg_key in (
            ("error_code", "error_msg"),
            ("errorCode", "errorMsg"),
            ("code", "message"),
        ):
            if code_key in item or msg_key in item:
                return str(item.get(code_key) or ""), str(item.get(msg_key) or "")
    return "", ""


class CloudError(Exception):
    """Any failure of a TaurusDB or IAM call."""

    category: Category = Category.SERVER
    retryable: bool = False


class ApiError(CloudError):
    """The service answered with an error status."""

    def __init__(self, status: int, error_code: str, error_msg: str, request_id: str = "") -> None:
        self.status = status
        self.error_code = error_code or str(status)
        self.error_msg = error_msg
        self.request_id = request_id
        advice = advise(status, self.error_code)
        self.category = advice.category
        self.retryable = advice.retryable
        self.note = advice.note
        rid = f", request {request_id}" if request_id else ""
        super().__init__(f"HTTP {status} {self.error_code}: {error_msg}{rid}")


class TransportError(CloudError):
    """No usable answer: timeout, refused or cut connection.

    ``maybe_sent`` is True when the request may have reached the service (the connection was cut or
    timed out after the request was written), which makes a create *ambiguous*.
    """

    category = Category.SERVER
    retryable = True

    def __init__(self, message: str, *, maybe_sent: bool) -> None:
        self.maybe_sent = maybe_sent
        super().__init__(message)


class InvalidRequest(CloudError, ValueError):
    """Input that breaks one of the API's rules, caught before any HTTP call."""

    category = Category.BAD_INPUT
    retryable = False


class InstanceNotFound(CloudError):
    """No instance has that ID or exact name; ``suggestions`` are the closest names."""

    category = Category.NOT_FOUND

    def __init__(self, ref: str, suggestions: list[str]) -> None:
        self.ref = ref
        self.suggestions = suggestions
        super().__init__(f"no TaurusDB instance named or with ID {ref!r}")


class AmbiguousInstance(CloudError):
    """More than one instance has that exact name.

    ``choices`` are ``(id, name)`` of each match; across regions the name is qualified
    (``cn-north-4/orders-prod``), so :attr:`names` are what a person can type instead.
    """

    category = Category.BAD_INPUT

    def __init__(self, ref: str, choices: list[tuple[str, str]]) -> None:
        self.ref = ref
        self.choices = choices  # (id, name)
        qualified = any("/" in name for _, name in choices)
        hint = "<region>/<name> or the instance ID" if qualified else "the instance ID"
        super().__init__(f"{len(choices)} instances are named {ref!r}; use {hint}")

    @property
    def names(self) -> list[str]:
        return [name for _, name in self.choices]


class UnknownRegion(InvalidRequest):
    """A ``<region>/<name>`` reference to a region the bot is not configured for."""

    def __init__(self, region: str, regions: list[str]) -> None:
        self.region = region
        self.regions = regions
        super().__init__(f"the bot serves no region {region!r} (it serves {', '.join(regions)})")


# A backup that is not (or no longer) there, whatever shape the service says it in.
_BACKUP_GONE = frozenset({"DBS.201010", "DBS.201203", "DBS.280214"})


def backup_gone(error: ApiError) -> bool:
    """Whether ``error`` says the backup does not exist (a 404 from the gateway itself, APIGW.0101,
    means a wrong endpoint instead)."""
    return error.error_code in _BACKUP_GONE or (
        error.status == 404 and not error.error_code.startswith(("APIGW.", "APIG."))
    )


class BackupNotFound(ApiError):
    """The backup to delete does not exist (deleted already, or never in this project)."""


class BackupNotDeletable(ApiError):
    """DBS.201208: the backup's status does not allow deleting it now (e.g. it is still building).
    Worth trying again later, unlike the table's generic reading of the code."""

    def __init__(self, status: int, error_code: str, error_msg: str, request_id: str = "") -> None:
        super().__init__(status, error_code, error_msg, request_id)
        self.category = Category.BUSY
        self.retryable = True
        self.note = "the backup's status does not allow deleting it now"


def delete_error(error: ApiError) -> ApiError:
    """The typed form of a refused delete: :class:`BackupNotFound`, :class:`BackupNotDeletable`,
    or ``error`` itself."""
    if error.error_code == "DBS.201208":
        return BackupNotDeletable(error.status, error.error_code, error.error_msg, error.request_id)
    if backup_gone(error):
        return BackupNotFound(error.status, error.error_code, error.error_msg, error.request_id)
    return error
