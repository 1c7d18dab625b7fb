"""The Lua scripts of the :mod:`scheduler <bot.store.scheduler>`: each transition of a work key is one
of them, run atomically by Redis."""

from __future__ import annotations

from bot.store import lua

# Every script gets the same KEYS: due (zset), payloads, tokens, attempts, rerun (hashes).
# A script returning a number to Redis truncates it to an integer, so fractional seconds go back as text.

# The fence of every transition of a leased key (ARGV: work key, token first): true while ``token``
# is still the key's current lease, so a worker that lost its lease changes nothing.
_LEASED = """
local function leased()
  return redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[2]
end
"""

# ARGV: work key, payload JSON, delay seconds, 1 to bring waiting work forward (``earlier``: background
# work also comes into the foreground, at the earlier of its own due time and this one), BACKGROUND.
SCHEDULE = (
    lua.NOW
    + lua.SCHEDULE_WORK
    + """
local added = schedule_work(KEYS, ARGV[1], ARGV[2], tonumber(ARGV[3]))
if added == 0 and ARGV[4] == '1' and redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then
  local due = now() + tonumber(ARGV[3])
  local at = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
  local background = at >= tonumber(ARGV[5])
  if background then
    at = at - tonumber(ARGV[5])
  end
  if background or at > due then
    redis.call('ZADD', KEYS[1], math.min(at, due), ARGV[1])
    return 2
  end
end
return added
"""
)

# ARGV: limit, lease seconds, token prefix (random per call), BACKGROUND, most background keys. Due
# work first, then due background work. Returns [key, payload, token, attempt, background (0/1)]*.
CLAIM = (
    lua.NOW
    + """
local t = now()
local limit = tonumber(ARGV[1])
local due = redis.call('ZRANGE', KEYS[1], '-inf', t, 'BYSCORE', 'LIMIT', 0, limit)
local foreground = #due
local room = math.min(limit - #due, tonumber(ARGV[5]))
if room > 0 then  -- background work only when no other work is due
  local offset = tonumber(ARGV[4])
  local later = redis.call('ZRANGE', KEYS[1], offset, t + offset, 'BYSCORE', 'LIMIT', 0, room)
  for _, key in ipairs(later) do table.insert(due, key) end
end
local lease_end = t + tonumber(ARGV[2])
local out = {}
for i, key in ipairs(due) do
  local payload = redis.call('HGET', KEYS[2], key)
  if payload then
    local token = ARGV[3] .. '.' .. i
    redis.call('ZADD', KEYS[1], lease_end, key)
    redis.call('HSET', KEYS[3], key, token)
    local attempt = redis.call('HINCRBY', KEYS[4], key, 1)
    table.insert(out, key)
    table.insert(out, payload)
    table.insert(out, token)
    table.insert(out, attempt)
    table.insert(out, i > foreground and 1 or 0)
  else
    -- Only a hand edit can leave a key without its payload; it could never be handled, and left in
    -- place it would be "due now" forever and keep idle workers awake.
    redis.call('ZREM', KEYS[1], key)
    redis.call('HDEL', KEYS[3], key)
    redis.call('HDEL', KEYS[4], key)
  end
end
return out
"""
)

# ARGV: work key, token. A "run again" mark turns completion into an immediate, fresh reschedule.
COMPLETE = (
    lua.NOW
    + _LEASED
    + """
if not leased() then return 0 end
if redis.call('HDEL', KEYS[5], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[1], now(), ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('HDEL', KEYS[4], ARGV[1])
  return 1
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
"""
)

# ARGV: work key, token, delay seconds, reset (1 = the handler chose to run again later, so the attempt
# count starts over; 0 = a failure, so it keeps counting and drives backoff), new payload JSON ('' =
# keep it), 0 or BACKGROUND. A "run again" mark makes the work due at once, in the foreground.
RETRY = (
    lua.NOW
    + _LEASED
    + """
if not leased() then return 0 end
local delay = tonumber(ARGV[3]) + tonumber(ARGV[6])
if redis.call('HDEL', KEYS[5], ARGV[1]) == 1 then
  delay = 0  -- scheduled again meanwhile: due now, in the foreground
end
redis.call('ZADD', KEYS[1], now() + delay, ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if ARGV[4] == '1' then
  redis.call('HDEL', KEYS[4], ARGV[1])
end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[5])
end
return 1
"""
)

# ARGV: work key, token, lease seconds.
EXTEND = (
    lua.NOW
    + _LEASED
    + """
if not leased() then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now() + tonumber(ARGV[3]), ARGV[1])
return 1
"""
)

# ARGV: work key, token. Hands unfinished work back (its worker is stopping): due now, the claim not
# counted as an attempt (nothing failed), and a "run again" mark dropped (the next claim looks afresh).
RELEASE = (
    lua.NOW
    + _LEASED
    + """
if not leased() then return 0 end
redis.call('ZADD', KEYS[1], now(), ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
if redis.call('HINCRBY', KEYS[4], ARGV[1], -1) <= 0 then
  redis.call('HDEL', KEYS[4], ARGV[1])
end
return 1
"""
)

# KEYS: the five scheduler keys, then parked (zset) and parked detail (hash). ARGV: work key, token,
# reason. Takes the work out of the schedule for good and keeps it, with why, where people can look.
PARK = (
    lua.NOW
    + _LEASED
    + """
if not leased() then return 0 end
local detail = cjson.encode({
  payload = redis.call('HGET', KEYS[2], ARGV[1]) or '',
  attempts = tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0'),
  reason = ARGV[3],
})
redis.call('ZREM', KEYS[1], ARGV[1])
for i = 2, 5 do redis.call('HDEL', KEYS[i], ARGV[1]) end
redis.call('ZADD', KEYS[6], now(), ARGV[1])
redis.call('HSET', KEYS[7], ARGV[1], detail)
return 1
"""
)

# ARGV: BACKGROUND, 1 to count background work (0: leave it out). Seconds until the earliest due key
# (0 when overdue), or nil when nothing is scheduled.
NEXT_DUE_IN = (
    lua.NOW
    + """
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then
  return false
end
local at = tonumber(first[2])
local offset = tonumber(ARGV[1])
if at >= offset then
  if ARGV[2] == '0' then
    return false
  end
  at = at - offset  -- only background work is scheduled
elseif ARGV[2] == '1' then
  local later = redis.call('ZRANGE', KEYS[1], offset, '+inf', 'BYSCORE', 'LIMIT', 0, 1, 'WITHSCORES')
  if #later > 0 then
    at = math.min(at, tonumber(later[2]) - offset)
  end
end
local wait = at - now()
if wait < 0 then
  wait = 0
end
return string.format('%.6f', wait)
"""
)
