/**
 * Atomic Lua scripts for redisquota. Time comes from Redis (`TIME`) so every
 * Mixer replica sees one clock. Both return {granted, msUntilReset}.
 *
 * FIXED_WINDOW: one counter per window, created with a TTL of the window on
 * first use (so a burst at the end of one window and the start of the next can
 * reach 2x maxAmount, as upstream documents).
 *
 * ROLLING_WINDOW: a hash of buckets (bucketDuration each) over the window; the
 * sum of buckets younger than the window is the usage. Costs more Redis work.
 */
export const FIXED_WINDOW_LUA = `
local key = KEYS[1]
local max = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local best = ARGV[4] == '1'
local used = tonumber(redis.call('GET', key) or '0')
local avail = max - used
local grant = 0
if avail >= amount then grant = amount elseif best and avail > 0 then grant = avail end
if grant > 0 then
  local n = redis.call('INCRBY', key, grant)
  if n == grant then redis.call('PEXPIRE', key, window) end
end
local ttl = redis.call('PTTL', key)
if ttl < 0 then ttl = window end
return {grant, ttl}
`;

export const ROLLING_WINDOW_LUA = `
local key = KEYS[1]
local max = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local bucket = tonumber(ARGV[4])
local best = ARGV[5] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local current = math.floor(now / bucket)
local oldest = math.floor((now - window) / bucket)
local entries = redis.call('HGETALL', key)
local used = 0
for i = 1, #entries, 2 do
  local b = tonumber(entries[i])
  if b <= oldest then redis.call('HDEL', key, entries[i]) else used = used + tonumber(entries[i + 1]) end
end
local avail = max - used
local grant = 0
if avail >= amount then grant = amount elseif best and avail > 0 then grant = avail end
if grant > 0 then
  redis.call('HINCRBY', key, tostring(current), grant)
  redis.call('PEXPIRE', key, window + bucket)
end
return {grant, bucket - (now % bucket)}
`;
