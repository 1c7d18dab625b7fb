"""Lua pieces shared by the bot's scripts, so each rule is written once.

A script is built by concatenating the pieces it needs with its own body; each piece defines one
``local function``. Every script gets its keys through ``KEYS`` (all under the ``{bb}`` hash tag, so
one script may touch any of them, on a single server or a cluster) and never builds a key name.
"""

from __future__ import annotations

# now(): Redis server time in seconds, with microseconds (worker clocks never matter).
NOW = """
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# schedule_work(k, key, payload, delay), k = the five scheduler keys (due, payloads, tokens, attempts,
# rerun). Already scheduled → 0, nothing changes. Leased (a handler is running it now) → 0 and a "run
# again" mark: whatever prompted this call may have happened after the handler looked, so it runs once
# more as soon as it settles. Needs NOW.
SCHEDULE_WORK = """
local function schedule_work(k, key, payload, delay)
  if redis.call('ZSCORE', k[1], key) then
    if redis.call('HEXISTS', k[3], key) == 1 then
      redis.call('HSET', k[5], key, '1')
    end
    return 0
  end
  redis.call('HSET', k[2], key, payload)
  redis.call('HDEL', k[3], key)
  redis.call('HDEL', k[4], key)
  redis.call('HDEL', k[5], key)
  redis.call('ZADD', k[1], now() + delay, key)
  return 1
end
"""

# claim_dedupe(key, owner, ttl): the owner already holding the de-duplication ``key``, or nil after
# making ``owner`` its holder for ``ttl`` seconds. A Slack retry or a double submit finds the first.
CLAIM_DEDUPE = """
local function claim_dedupe(key, owner, ttl)
  local existing = redis.call('GET', key)
  if existing then return existing end
  redis.call('SET', key, owner, 'EX', ttl)
  return nil
end
"""

# append_audit(stream, list, maxlen, list_ttl, list_cap, entry_json, fields): one audit entry to the
# stream (trimmed to about ``maxlen``) and, when ``entry_json`` is not empty, to its request's list
# (capped, expiring). Returns the stream ID.
APPEND_AUDIT = """
local function append_audit(stream, list, maxlen, list_ttl, list_cap, entry_json, fields)
  local id = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', unpack(fields))
  if entry_json ~= '' then
    redis.call('RPUSH', list, entry_json)
    redis.call('LTRIM', list, -tonumber(list_cap), -1)
    redis.call('EXPIRE', list, tonumber(list_ttl))
  end
  return id
end
"""

# count(metrics, name, n): add ``n`` to the shared counter ``name``.
COUNT = """
local function count(metrics, name, n)
  redis.call('HINCRBY', metrics, name, n)
end
"""

# transition(key, target, keep, from, fields): the compare-and-set of a request's state. Moves the
# request hash ``key`` to ``target`` only from one of the states in ``from`` (all JSON-encoded, as
# stored), writing the flat field/value list ``fields`` in the same step, and keeps the hash ``keep``
# seconds from then (0: for ever). Returns {1, previous state} or {0, current state} ('' when the
# request is missing). transition_args(at) reads its arguments from ARGV[at]: target, keep, n, the n
# ``from`` states, then the field/value pairs up to the end of ARGV.
TRANSITION = """
local function transition(key, target, keep, from, fields)
  local current = redis.call('HGET', key, 'state')
  if not current then return {0, ''} end
  local allowed = false
  for _, state in ipairs(from) do
    if state == current then allowed = true end
  end
  if not allowed then return {0, current} end
  redis.call('HSET', key, 'state', target, unpack(fields))
  if keep > 0 then redis.call('EXPIRE', key, keep) end
  return {1, current}
end

local function transition_args(at)
  local n = tonumber(ARGV[at + 2])
  local from, fields = {}, {}
  for i = at + 3, at + 2 + n do from[#from + 1] = ARGV[i] end
  for i = at + 3 + n, #ARGV do fields[#fields + 1] = ARGV[i] end
  return ARGV[at], tonumber(ARGV[at + 1]), from, fields
end
"""
