"""Every Redis key name the bot uses, in one place.

All keys carry the hash tag ``{bb}``, so every key lands in the same cluster slot: one Lua script or
MULTI may touch any of them, and the same code runs on a single server, Redis Cluster or a managed
clustered Redis. Add new names here as small functions or constants built with :func:`tagged`.
"""

from __future__ import annotations

HASH_TAG = "{bb}"


def tagged(*parts: str) -> str:
    """``{bb}:part1:part2…`` — the only way a key name is built."""
    return ":".join((HASH_TAG, *parts))


# --- durable scheduler (bot/store/scheduler.py); ``namespace`` separates independent schedulers ---


def scheduler_due(namespace: str) -> str:
    """Sorted set: member = work key, score = due time (Redis server time, seconds)."""
    return tagged(namespace, "due")


def scheduler_payloads(namespace: str) -> str:
    """Hash: work key → JSON payload."""
    return tagged(namespace, "payload")


def scheduler_tokens(namespace: str) -> str:
    """Hash: work key → fencing token of the current lease (absent when not leased)."""
    return tagged(namespace, "token")


def scheduler_attempts(namespace: str) -> str:
    """Hash: work key → how many times it has been claimed."""
    return tagged(namespace, "attempts")


def scheduler_rerun(namespace: str) -> str:
    """Hash: work key → "1" when it was scheduled again while leased (run once more after settling)."""
    return tagged(namespace, "rerun")


def scheduler_parked(namespace: str) -> str:
    """Sorted set: work that failed past its attempt budget (or can never run), scored by when."""
    return tagged(namespace, "parked")


def scheduler_parked_detail(namespace: str) -> str:
    """Hash: parked work key → JSON {payload, reason, attempts}."""
    return tagged(namespace, "parked", "detail")


# --- backup requests (bot/store/requests.py) ---


def request(request_id: str) -> str:
    """Hash: one backup request, a field per attribute (JSON-encoded)."""
    return tagged("req", request_id)


def dedupe(key: str) -> str:
    """String: the request id that first used this Slack trigger/view/retry key (expires)."""
    return tagged("dedupe", key)


def in_flight(project_id: str) -> str:
    """Sorted set: ids of requests whose backup is building, scored by start time."""
    return tagged("inflight", project_id)


def backup_index(backup_id: str) -> str:
    """String: backup ID → request id, for `/backup status <backup-id>`."""
    return tagged("backup", backup_id)


def user_requests(user_id: str) -> str:
    """Sorted set: a user's request ids, scored by when they asked (the Home's "Your requests")."""
    return tagged("user", user_id, "requests")


PENDING = tagged("pending")  # sorted set: ids of requests waiting for approval, scored by deadline
HOME_OPENERS = tagged("home", "openers")  # sorted set: user → when they last opened the Home


# --- audit trail (bot/store/audit.py) ---


def audit_stream() -> str:
    """Stream: every audit entry, newest last, trimmed to an approximate maximum length."""
    return tagged("audit")


def audit_request(request_id: str) -> str:
    """List: the audit entries (JSON) of one request, oldest first; expires a while after the last."""
    return tagged("audit", "req", request_id)


# --- caches filled by workers, read by the web process (no Slack or cloud call before ack) ---


def group_members(handle: str) -> str:
    """Set: Slack user IDs in the user group ``@handle``."""
    return tagged("groups", "members", handle)


GROUP_IDS = tagged("groups", "ids")  # hash: handle → usergroup ID (for <!subteam^ID> mentions)
GROUPS_SYNCED = tagged("groups", "synced")  # string with a TTL: present while the cache is fresh
INSTANCES = tagged("instances")  # string: JSON list of instances, with a TTL


def user(user_id: str) -> str:
    """Hash with a TTL: what ``users.info`` said of a Slack user (language, time zone, guest)."""
    return tagged("user", user_id)


PROJECTS = tagged("projects")  # hash: project ID → region, as the workers' fleets say
METRICS = tagged("metrics")  # hash: counter name → value, shared by every process


# --- rate budgets shared by every process (bot/store/pacing.py): Slack's limits ---


def pace(budget: str) -> str:
    """String: when the next call of ``budget`` (e.g. a Slack method, or a method and a channel) is
    due, in Redis time (the GCRA "theoretical arrival time")."""
    return tagged("pace", budget)


def pace_hold(budget: str) -> str:
    """String: Redis time until which the API said (429, Retry-After) not to call ``budget`` again."""
    return tagged("pace", budget, "hold")


def user_lookup(user_id: str) -> str:
    """String with a TTL: one process is asking Slack about this user now (the others wait for it)."""
    return tagged("user", user_id, "lookup")
