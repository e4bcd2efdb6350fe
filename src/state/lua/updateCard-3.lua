--[[
  Counts a card's transactions, in order, into its windowed aggregates. Idempotent: a transaction id already among
  the card's references changes nothing. Twin: twin.ts applyCardEvent.

  KEYS[1] aggregates   string, layout "card" (layout.ts)
  KEYS[2] places       string of 8-byte entries: 4-byte hash of "kind:id" (merchant, terminal, country, mcc), 4-byte minute last seen
  KEYS[3] references   hash: transaction fingerprint -> struct '<I4BH' (event minute, label, #terminalId) .. terminalId .. merchantId
  ARGV[1] allowed lateness, ms
  ARGV[2] state horizon, ms (places and references are kept this long)
  ARGV[3] time to live of the keys, ms
  ARGV[4] number of transactions n, followed by 13 values per transaction:
          transaction fingerprint (8 bytes), eventTimeMs, amount, declined (1|0), small (1|0), merchantId, terminalId,
          merchant, terminal, country and mcc place hashes (4 bytes each), latitude, longitude
          ('' when absent; coordinates only for card-present transactions)
  Reply:  { CODES.StateLayoutMismatch } when the stored aggregates have another layout, else
          { aggregates as read ('' when none), then n entries of
            { code, patches { offset, bytes, ... } to apply in order, merchantLastSeenMs, terminalLastSeenMs,
              countryLastSeenMs, firstCountry (1|0), firstMcc (1|0), firstMerchant (1|0) } }
          code: CODES.Applied | CODES.Duplicate | CODES.TooOld; times are NO_TIME when unknown
]]
--- @include "aggregateFits"
--- @include "openAggregate"
--- @include "writeAggregate"
--- @include "advance"
--- @include "moveSighting"
--- @include "openPlaces"
--- @include "placeLastSeen"
--- @include "setPlace"
--- @include "prunePlaces"

local layout = layoutNamed('card')
local H = layout.headerIndex
local lateness = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local ttl = ARGV[3]
local count = tonumber(ARGV[4])
local PLACES = { 'merchant', 'terminal', 'country', 'mcc' }
local DISTINCT_LANE = { merchant = 'merchants', terminal = 'terminals', country = 'countries' }
local NO_PATCHES = {}

local blob = redis.call('GET', KEYS[1])
local agg = false
if blob then
  if not aggregateFits(layout, blob) then return { CODES.StateLayoutMismatch } end
  agg = openAggregate(layout, blob)
end
local places = openPlaces(redis.call('GET', KEYS[2]))

local reply = { blob or '' }
local refreshTtl = false
for i = 0, count - 1 do
  local a = 4 + i * 13
  local transactionId = ARGV[a + 1]
  local t = tonumber(ARGV[a + 2])
  local amount = tonumber(ARGV[a + 3])
  local hashes = { merchant = ARGV[a + 8], terminal = ARGV[a + 9], country = ARGV[a + 10], mcc = ARGV[a + 11] }
  local lastBefore = agg and agg.header[H.last] or NO_TIME
  -- Places not seen within the horizon read as never seen, whether or not a daily prune has dropped them yet.
  local prior = {}
  for _, place in ipairs(PLACES) do
    if hashes[place] ~= '' then prior[place] = placeLastSeen(places, hashes[place], lastBefore - horizon) else prior[place] = NO_TIME end
  end

  -- References older than the horizon read as absent too: a redelivery that old is refused as too old.
  local reference = redis.call('HGET', KEYS[3], transactionId)
  local code
  local patches = NO_PATCHES
  if reference and struct.unpack('<I4', reference) * MINUTE_MS >= lastBefore - horizon then
    code = CODES.Duplicate
  elseif agg and t < lastBefore - lateness then
    code = CODES.TooOld
  else
    code = CODES.Applied
    agg = agg or openAggregate(layout, false)
    local header = agg.header
    local last = advance(agg, t)
    if ARGV[a + 12] ~= '' and t >= header[H.presentAt] then
      header[H.prevPresentAt] = header[H.presentAt]
      header[H.prevPresentLat] = header[H.presentLat]
      header[H.prevPresentLon] = header[H.presentLon]
      header[H.presentAt] = t
      header[H.presentLat] = tonumber(ARGV[a + 12])
      header[H.presentLon] = tonumber(ARGV[a + 13])
    end
    addToTiers(agg, t, last, 'count', 1)
    addToTiers(agg, t, last, 'amount', amount)
    addToTiers(agg, t, last, 'sumsq', amount * amount)
    if ARGV[a + 4] == '1' then addToTiers(agg, t, last, 'declines', 1) end
    if ARGV[a + 5] == '1' then addToTiers(agg, t, last, 'small', 1) end
    local minute = math.floor(t / MINUTE_MS)
    for _, place in ipairs(PLACES) do
      if hashes[place] ~= '' and prior[place] < t then
        if DISTINCT_LANE[place] then moveSighting(agg, DISTINCT_LANE[place], prior[place], t, last) end
        setPlace(places, KEYS[2], hashes[place], minute)
      end
    end
    local terminalId, merchantId = ARGV[a + 7], ARGV[a + 6]
    redis.call('HSET', KEYS[3], transactionId, struct.pack('<I4BH', minute, NO_LABEL, #terminalId) .. terminalId .. merchantId)
    -- Expiry is refreshed once per day of event time (a new card starts a new day): every key outlives its last
    -- write by ttl - 1 day. Pruning scans, so it runs once per PRUNE_PERIOD_MS; reads ignore what it has not dropped.
    if math.floor(last / DAY_MS) > math.floor(lastBefore / DAY_MS) then refreshTtl = true end
    if math.floor(last / PRUNE_PERIOD_MS) > math.floor(lastBefore / PRUNE_PERIOD_MS) then
      prunePlaces(places, KEYS[2], last - horizon)
      local references = redis.call('HGETALL', KEYS[3])
      for j = 1, #references, 2 do
        if struct.unpack('<I4', references[j + 1]) * MINUTE_MS < last - horizon then
          redis.call('HDEL', KEYS[3], references[j])
        end
      end
    end
    patches = writeAggregate(agg, KEYS[1])
  end

  local applied = code == CODES.Applied
  local function lastSeen(place)
    if hashes[place] == '' then return NO_TIME end
    if applied and prior[place] < t then return math.floor(t / MINUTE_MS) * MINUTE_MS end
    return prior[place]
  end
  local function firstSeen(place)
    if hashes[place] ~= '' and prior[place] < t - horizon then return 1 end
    return 0
  end
  reply[#reply + 1] = {
    code, patches, lastSeen('merchant'), lastSeen('terminal'), lastSeen('country'),
    firstSeen('country'), firstSeen('mcc'), firstSeen('merchant'),
  }
end

-- SET stores exactly the bytes given, dropping what APPEND allocated ahead (up to as much again).
if places.appended then redis.call('SET', KEYS[2], redis.call('GET', KEYS[2]), 'KEEPTTL') end
if refreshTtl then
  for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ttl) end
elseif places.created then
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return reply
