"""The Lua scripts of the Redis ledger: each ledger operation is one script, so one atomic step.

Redis runs a script to completion before any other command, so a script's reads and writes see and
leave one consistent state whichever gateway process sent it. Every script names the same four keys,
all under one hash tag (so they live in one cluster slot):

    KEYS[1] counters  hash  tier key → "period|calendar|window start|window end|spent|limit"
    KEYS[2] reserved  hash  tier key → sum of its live holds (integer micro-units)
    KEYS[3] holds     hash  reservation id → JSON [amount, [tier keys]]
    KEYS[4] expiry    zset  reservation id, scored by the epoch second its hold expires

Amounts travel as decimal strings and stay integers (Lua numbers are doubles: exact below 2^53 micros,
about nine billion dollars). Windows are written with 17 significant digits, so a stored float reads back
exactly. The scripts do no calendar arithmetic: the caller passes the fresh window of every rule it may
need (`ledger.py` explains why that is enough).
"""

from __future__ import annotations

# At most this many expired holds are reclaimed per operation, so that one script never runs long after a
# mass crash; any left over still count as held (refusing more, never overspending) until the next call.
RECLAIM_BATCH = 1000

_PRELUDE = f"""
local counters, reserved, holds, expiry = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local function decode(text)
  local p, c, s, e, spent, limit = string.match(text, '^(.-)|(.-)|(.-)|(.-)|(.-)|(.-)$')
  return {{period = p, calendar = c, start = tonumber(s), finish = tonumber(e),
          spent = tonumber(spent), limit = tonumber(limit)}}
end

local function encode(c)
  return string.format('%s|%s|%.17g|%.17g|%d|%d', c.period, c.calendar, c.start, c.finish, c.spent, c.limit)
end

local function drop_hold(id)
  redis.call('ZREM', expiry, id)
  local text = redis.call('HGET', holds, id)
  if not text then return nil end
  redis.call('HDEL', holds, id)
  local hold = cjson.decode(text)
  for _, key in ipairs(hold[2]) do
    if redis.call('HINCRBY', reserved, key, '-' .. hold[1]) <= 0 then redis.call('HDEL', reserved, key) end
  end
  return hold
end

local function reclaim(now)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', expiry, '-inf', now, 'LIMIT', 0, {RECLAIM_BATCH})) do
    drop_hold(id)
  end
end
"""

# ARGV: now, expires_at, reservation id, amount, then per tier: key, limit, period, calendar, fresh window
# start and end. Returns {1} when held, {0, key, spent, reserved} for the first tier without room.
RESERVE = (
    _PRELUDE
    + """
local now, id, amount = tonumber(ARGV[1]), ARGV[3], tonumber(ARGV[4])
reclaim(ARGV[1])
if redis.call('HEXISTS', holds, id) == 1 then return {1} end  -- the same request sent twice
local admitted, keys = {}, {}
for i = 5, #ARGV, 6 do
  local key, stored = ARGV[i], redis.call('HGET', counters, ARGV[i])
  local c = stored and decode(stored)
  if not c or now >= c.finish then
    c = {start = tonumber(ARGV[i + 4]), finish = tonumber(ARGV[i + 5]), spent = 0}
  end
  c.period, c.calendar, c.limit = ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 1])
  local held = tonumber(redis.call('HGET', reserved, key) or '0')
  if c.spent + held + amount > c.limit then
    return {0, key, string.format('%d', c.spent), string.format('%d', held)}
  end
  admitted[#admitted + 1] = c
  keys[#keys + 1] = key
end
for index, key in ipairs(keys) do
  redis.call('HSET', counters, key, encode(admitted[index]))
  redis.call('HINCRBY', reserved, key, ARGV[4])
end
redis.call('HSET', holds, id, cjson.encode({ARGV[4], keys}))
redis.call('ZADD', expiry, ARGV[2], id)
return {1}
"""
)

# ARGV: reservation id, amount, now, then per period rule: period, calendar, fresh window start and end.
# Returns {1} booked, {0} unknown reservation, {-1, held} when `amount` is more than was held.
COMMIT = (
    _PRELUDE
    + """
local text = redis.call('HGET', holds, ARGV[1])
if not text then return {0} end
local amount, held = tonumber(ARGV[2]), cjson.decode(text)[1]
if amount < 0 or amount > tonumber(held) then return {-1, held} end
local hold = drop_hold(ARGV[1])
local fresh = {}
for i = 4, #ARGV, 4 do fresh[ARGV[i] .. '|' .. ARGV[i + 1]] = {tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])} end
local now = tonumber(ARGV[3])
for _, key in ipairs(hold[2]) do
  local stored = redis.call('HGET', counters, key)
  if stored then
    local c = decode(stored)
    if now >= c.finish then
      local window = fresh[c.period .. '|' .. c.calendar]
      c.start, c.finish, c.spent = window[1], window[2], 0
    end
    c.spent = c.spent + amount
    redis.call('HSET', counters, key, encode(c))
  end
end
return {1}
"""
)

# ARGV: reservation id. Returns 1 when the holds were dropped, 0 when the reservation is unknown.
RELEASE = (
    _PRELUDE
    + """
if drop_hold(ARGV[1]) then return 1 end
return 0
"""
)

# ARGV: now, tier key. Returns {stored counter or '', live holds}.
SPENT = (
    _PRELUDE
    + """
reclaim(ARGV[1])
return {redis.call('HGET', counters, ARGV[2]) or '', redis.call('HGET', reserved, ARGV[2]) or '0'}
"""
)
