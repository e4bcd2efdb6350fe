--[[
  Counts the transactions of one account, terminal, merchant, device or IP, in order, into its windowed aggregates
  and returns the aggregates after each one. Idempotent: a transaction id seen within the allowed lateness changes
  nothing (older ones are refused as too old). Twin: twin.ts applyEntityEvent.

  KEYS[1] aggregates   string, layout ARGV[1] (layout.ts)
  KEYS[2] seen         sorted set: transaction fingerprint -> event time, ms (read within the allowed lateness)
  KEYS[3] cards        sorted set: card fingerprint -> latest sighting, ms (layouts with distinct-card counters)
  ARGV[1] layout name: account | acceptor | client
  ARGV[2] allowed lateness, ms
  ARGV[3] time to live of the keys, ms
  ARGV[4] number of transactions n, followed by 4 values per transaction:
          transaction fingerprint (8 bytes), eventTimeMs, amount, cardFingerprint
  Reply:  { CODES.StateLayoutMismatch } when the stored aggregates have another layout, else
          { aggregates as read ('' when none), then n entries of
            { code, patches { offset, bytes, ... } to apply in order, cardLastSeenMs } }
          code: CODES.Applied | CODES.Duplicate | CODES.TooOld; cardLastSeenMs is NO_TIME when unknown or not kept
]]
--- @include "aggregateFits"
--- @include "openAggregate"
--- @include "writeAggregate"
--- @include "advance"
--- @include "moveSighting"
--- @include "scoreBound"

local layout = layoutNamed(ARGV[1])
local H = layout.headerIndex
local lateness = tonumber(ARGV[2])
local ttl = ARGV[3]
local count = tonumber(ARGV[4])
local cardsHorizon = layout.cardsHorizonMs
local keepsCards = cardsHorizon > 0
local finest = layout.tiers[1]

local blob = redis.call('GET', KEYS[1])
local agg = false
if blob then
  if not aggregateFits(layout, blob) then return { CODES.StateLayoutMismatch } end
  agg = openAggregate(layout, blob)
end

local NO_PATCHES = {}
local reply = { blob or '' }
local refreshTtl, cardsAdded = false, false
for i = 0, count - 1 do
  local a = 4 + i * 4
  local transactionId = ARGV[a + 1]
  local t = tonumber(ARGV[a + 2])
  local amount = tonumber(ARGV[a + 3])
  local card = ARGV[a + 4]
  local lastBefore = agg and agg.header[H.last] or NO_TIME
  -- Members older than their horizon read as absent, whether or not a prune has dropped them yet.
  local priorCard = NO_TIME
  if keepsCards then
    local seen = tonumber(redis.call('ZSCORE', KEYS[3], card))
    if seen and seen >= lastBefore - cardsHorizon then priorCard = seen end
  end
  local seenAt = tonumber(redis.call('ZSCORE', KEYS[2], transactionId))

  local code
  local patches = NO_PATCHES
  local cardLastSeen = priorCard
  if seenAt and seenAt >= lastBefore - lateness then
    code = CODES.Duplicate
  elseif agg and t < lastBefore - lateness then
    code = CODES.TooOld
  else
    code = CODES.Applied
    agg = agg or openAggregate(layout, false)
    local last = advance(agg, t)
    addToTiers(agg, t, last, 'count', 1)
    addToTiers(agg, t, last, 'amount', amount)
    addToTiers(agg, t, last, 'sumsq', amount * amount)
    if keepsCards and priorCard < t then
      moveSighting(agg, 'cards', priorCard, t, last)
      if redis.call('ZADD', KEYS[3], t, card) == 1 then cardsAdded = true end
      cardLastSeen = t
    end
    redis.call('ZADD', KEYS[2], t, transactionId)
    -- Pruning once per bucket of the finest tier keeps both sets near their horizon at a fraction of the calls;
    -- expiry is refreshed then too (a new entity starts a new bucket).
    if bucketOf(finest, last) > bucketOf(finest, lastBefore) then
      refreshTtl = true
      redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', scoreBound(last - lateness))
      if keepsCards then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', scoreBound(last - cardsHorizon)) end
    end
    patches = writeAggregate(agg, KEYS[1])
  end
  reply[#reply + 1] = { code, patches, cardLastSeen }
end

if refreshTtl then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  if keepsCards then redis.call('PEXPIRE', KEYS[3], ttl) end
elseif cardsAdded then
  -- A prune may have emptied (deleted) the set since its expiry was last set.
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return reply
