"""Huawei Cloud ``SDK-HMAC-SHA256`` request signing, as pure functions.

The client's :class:`bot.cloud.auth.AkSkAuth` signs with these and the simulator verifies with the
same code, so the golden vectors of the fact sheet (§5.4) pin both sides.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def sdk_date(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).strftime(DATE_FORMAT)


def _encode(text: str) -> str:
    return quote(text, safe="~")


def canonical_uri(path: str) -> str:
    """Each decoded segment re-encoded per RFC 3986, with a trailing slash added."""
    uri = "/".join(_encode(unquote(seg)) for seg in path.split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Sorted ``k=v`` pairs, both sides encoded (``+`` → ``%2B``, ``:`` → ``%3A``)."""
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(pairs))


def signed_header_names(headers: Mapping[str, str]) -> list[str]:
    return sorted(name.lower() for name in headers if "_" not in name)


def canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed: list[str],
    body: bytes,
) -> str:
    lower = {k.lower(): v for k, v in headers.items()}
    header_block = "".join(f"{name}:{lower[name].strip()}\n" for name in signed)
    payload_hash = lower.get("x-sdk-content-sha256") or hashlib.sha256(body).hexdigest()
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            header_block,
            ";".join(signed),
            payload_hash,
        ]
    )


def signature(secret_key: str, date: str, canonical: str) -> str:
    string_to_sign = "\n".join([ALGORITHM, date, hashlib.sha256(canonical.encode()).hexdigest()])
    return hmac.new(secret_key.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def authorization(
    access_key: str,
    secret_key: str,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
) -> str:
    """The ``Authorization`` header value. ``headers`` must already hold ``Host`` and ``X-Sdk-Date``."""
    signed = signed_header_names(headers)
    date = next(v for k, v in headers.items() if k.lower() == "x-sdk-date")
    canonical = canonical_request(method, path, query, headers, signed, body)
    return (
        f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed)}, "
        f"Signature={signature(secret_key, date, canonical)}"
    )


def parse_authorization(value: str) -> dict[str, str] | None:
    """``{"Access", "SignedHeaders", "Signature"}`` from a header value, or None if malformed."""
    if not value.startswith(ALGORITHM + " "):
        return None
    parts: dict[str, str] = {}
    for item in value[len(ALGORITHM) + 1 :].split(","):
        key, sep, val = item.strip().partition("=")
        if not sep:
            return None
        parts[key] = val
    return parts if {"Access", "SignedHeaders", "Signature"} <= parts.keys() else None
