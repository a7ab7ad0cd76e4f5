// The one Lua script a RedisGate runs: in a single atomic call it gives back leases,
// renews the ones still held (re-taking any that lapsed), corrects token charges, and admits waiting attempts in
// order. Time comes from Redis TIME, so hosts with skewed clocks share one timeline.

/**
 * KEYS: 1 holders (zset fence -> lease expiry), 2 fence counter, 3 waiting gates (zset
 * gate -> waiting since), 4 their liveness (zset gate -> alive until), then three keys per
 * rate window (log zset, token sum, GCRA arrival time), then the per-key holder sets.
 *
 * ARGV: gate id, lease ms, concurrency (0: none), perKey (0: none), release channel, window
 * count, per window (limit, interval, 1 if tokens, burst or 0), then four lists each led by
 * its length: leaves (fence, key index), renewals (fence, key index), corrections (old
 * member, new member, delta), enters (key index, tokens, or L for a lease without a rate
 * charge: a task back from a yield); last, 1 if more local waiters
 * queue behind the enters sent. Key index 0 means no key.
 *
 * Reply: { hint ms, 1 if the gate is now queued as waiting, one entry per enter }, an
 * entry being the fence when admitted, 0 when its key is full (later enters may still
 * pass), -1 when a shared budget is full (every later enter waits behind it: FIFO within
 * a process).
 */
export const SYNC_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local pos = 0
local function arg() pos = pos + 1 return ARGV[pos] end
local function num(x) return string.format('%.3f', x) end
local function int(x) return string.format('%.0f', x) end
local function extend(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, math.ceil(ms)) end
end

local gate = arg()
local leaseMs = tonumber(arg())
local conc = tonumber(arg())
local perKey = tonumber(arg())
local channel = arg()
local holders, fenceKey, waiting, alive = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local wins = {}
for i = 1, tonumber(arg()) do
  local k = 4 + (i - 1) * 3
  local w = { log = KEYS[k + 1], sum = KEYS[k + 2], tat = KEYS[k + 3], limit = tonumber(arg()),
    interval = tonumber(arg()), tokens = arg() == '1', burst = tonumber(arg()) }
  w.step = w.interval / w.limit
  wins[i] = w
end
local keyBase = 4 + #wins * 3
local function keySet(i) if i == 0 then return nil end return KEYS[keyBase + i] end
local keep = leaseMs + 1000

if conc > 0 then redis.call('ZREMRANGEBYSCORE', holders, '-inf', num(now)) end
for _, w in ipairs(wins) do
  local cutoff = num(now - w.interval)
  if w.tokens then
    local old = redis.call('ZRANGEBYSCORE', w.log, '-inf', cutoff)
    if #old > 0 then
      local gone = 0
      for _, m in ipairs(old) do gone = gone + tonumber(string.match(m, ':(.*)$')) end
      redis.call('ZREMRANGEBYSCORE', w.log, '-inf', cutoff)
      if redis.call('ZCARD', w.log) == 0 then
        redis.call('DEL', w.sum)
      else
        redis.call('INCRBYFLOAT', w.sum, -gone)
      end
    end
    w.used = tonumber(redis.call('GET', w.sum) or '0')
  else
    redis.call('ZREMRANGEBYSCORE', w.log, '-inf', cutoff)
    w.used = redis.call('ZCARD', w.log)
  end
end

local freed = 0
for _ = 1, tonumber(arg()) do
  local f, ks = arg(), keySet(tonumber(arg()))
  if conc > 0 then freed = freed + redis.call('ZREM', holders, f) end
  if ks then freed = freed + redis.call('ZREM', ks, f) end
end

-- Renewals re-take a lease that lapsed while its attempt still runs (an event loop
-- blocked past the TTL, a Redis restart that lost the set): the holder count stays true
-- and later admissions wait for it, instead of the fleet running over its limit unseen.
local expiry = num(now + leaseMs)
for _ = 1, tonumber(arg()) do
  local f, ks = arg(), keySet(tonumber(arg()))
  if conc > 0 then redis.call('ZADD', holders, expiry, f) end
  if ks then
    redis.call('ZADD', ks, expiry, f)
    extend(ks, keep)
  end
end
if conc > 0 then extend(holders, keep) end

for _ = 1, tonumber(arg()) do
  local old, new, delta = arg(), arg(), tonumber(arg())
  for _, w in ipairs(wins) do
    if w.tokens then
      local at = redis.call('ZSCORE', w.log, old)
      if at then
        redis.call('ZREM', w.log, old)
        redis.call('ZADD', w.log, at, new)
        w.used = tonumber(redis.call('INCRBYFLOAT', w.sum, delta))
        if w.burst > 0 and redis.call('EXISTS', w.tat) == 1 then
          redis.call('INCRBYFLOAT', w.tat, delta * w.step)
        end
      end
    end
  end
end

-- Gates refused a slot queue by the time they started waiting; a gate may only take the
-- slots left after reserving one for every gate that has waited longer.
local mine, ahead = false, 0
if conc > 0 then
  local dead = redis.call('ZRANGEBYSCORE', alive, '-inf', num(now))
  if #dead > 0 then
    redis.call('ZREM', waiting, unpack(dead))
    redis.call('ZREM', alive, unpack(dead))
  end
  mine = redis.call('ZSCORE', waiting, gate)
  if mine then
    ahead = redis.call('ZCOUNT', waiting, '-inf', '(' .. mine)
  else
    ahead = redis.call('ZCARD', waiting)
  end
end

local function windowWait(w, cost)
  local excess = w.used + cost - w.limit
  if excess <= 0 then return 0 end
  if not w.tokens then
    local e = redis.call('ZRANGE', w.log, excess - 1, excess - 1, 'WITHSCORES')
    if e[2] then return tonumber(e[2]) + w.interval - now end
    return w.interval
  end
  local last = now
  for page = 0, 9 do
    local es = redis.call('ZRANGE', w.log, page * 100, page * 100 + 99, 'WITHSCORES')
    if #es == 0 then break end
    for j = 1, #es, 2 do
      last = tonumber(es[j + 1])
      excess = excess - tonumber(string.match(es[j], ':(.*)$'))
      if excess <= 0 then return last + w.interval - now end
    end
  end
  -- Only a lower bound: the caller checks again then.
  return last + w.interval - now
end

local out = { 0, 0 }
local hint, blocked, slotRefused, admitted = 0, false, false, 0
for i = 1, tonumber(arg()) do
  local ks, tokensArg = keySet(tonumber(arg())), arg()
  local leaseOnly = tokensArg == 'L'
  local tokens = leaseOnly and 0 or tonumber(tokensArg)
  local result = -1
  if not blocked then
    result = 1
    if conc > 0 and conc - redis.call('ZCARD', holders) - ahead <= 0 then
      result, blocked, slotRefused = -1, true, true
      local first = redis.call('ZRANGE', holders, 0, 0, 'WITHSCORES')
      hint = math.max(hint, first[2] and tonumber(first[2]) - now or leaseMs)
    end
    if result == 1 and ks then
      redis.call('ZREMRANGEBYSCORE', ks, '-inf', num(now))
      if redis.call('ZCARD', ks) >= perKey then result = 0 end
    end
    if result == 1 and not leaseOnly then
      for _, w in ipairs(wins) do
        local cost = w.tokens and tokens or 1
        local wait = windowWait(w, cost)
        if w.burst > 0 then
          local tat = math.max(tonumber(redis.call('GET', w.tat) or '0'), now)
          wait = math.max(wait, tat + (cost - w.burst) * w.step - now)
        end
        if wait > 0 then
          result, blocked = -1, true
          hint = math.max(hint, wait)
        end
      end
    end
    if result == 1 then
      if redis.call('EXISTS', fenceKey) == 0 then
        -- Seeded from the clock in microseconds, so fences keep rising after a restart lost the counter.
        redis.call('SET', fenceKey, int(tonumber(t[1]) * 1000000 + tonumber(t[2])))
      end
      local fence = redis.call('INCR', fenceKey)
      local f = int(fence)
      if conc > 0 then redis.call('ZADD', holders, expiry, f) end
      if ks then
        redis.call('ZADD', ks, expiry, f)
        extend(ks, keep)
      end
      for _, w in ipairs(leaseOnly and {} or wins) do
        local cost = w.tokens and tokens or 1
        if w.tokens then
          redis.call('ZADD', w.log, num(now), f .. ':' .. tokensArg)
          w.used = tonumber(redis.call('INCRBYFLOAT', w.sum, cost))
          extend(w.sum, w.interval + 1000)
        else
          redis.call('ZADD', w.log, num(now), f)
          w.used = w.used + 1
        end
        extend(w.log, w.interval + 1000)
        if w.burst > 0 then
          local tat = math.max(tonumber(redis.call('GET', w.tat) or '0'), now) + cost * w.step
          redis.call('SET', w.tat, num(tat), 'PX', math.ceil(tat - now) + 1000)
        end
      end
      out[#out + 1] = fence
      admitted = admitted + 1
    end
  end
  if result ~= 1 then out[#out + 1] = result end
end

local more = arg() == '1'
if conc > 0 then
  if slotRefused then
    -- Served at least once: back of the line, so the gates behind get their turn.
    if not mine or admitted > 0 then redis.call('ZADD', waiting, num(now), gate) end
    redis.call('ZADD', alive, expiry, gate)
    extend(waiting, keep)
    extend(alive, keep)
    out[2] = 1
  elseif mine and more then
    redis.call('ZADD', alive, expiry, gate)
    out[2] = 1
  elseif mine then
    redis.call('ZREM', waiting, gate)
    redis.call('ZREM', alive, gate)
  end
end

if freed > 0 and (perKey > 0 or (redis.call('ZCARD', holders) < conc and redis.call('ZCARD', waiting) > 0)) then
  redis.call('PUBLISH', channel, '1')
end
out[1] = math.ceil(hint)
return out
`;
