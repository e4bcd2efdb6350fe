--- @include "aggregateFits"
--- @include "openAggregate"
--- @include "addEventToTiers"
--- @include "patchAggregate"
--- @include "storeAggregate"
--- @include "advance"
--- @include "moveSighting"
--- @include "openPlaces"
--- @include "placeLastSeen"
--- @include "setPlace"
--- @include "flushPlaces"
--- @include "prunePlaces"

-- Counts a card's transactions (argv[at + 1 ...]: the ARGV of updateCard-3.lua) and returns that script's reply.
local function updateCardAt(aggKey, placesKey, refsKey, argv, at)
  local layout = layoutNamed('card')
  local H = layout.headerIndex
  local lateness = tonumber(argv[at + 1])
  local horizon = tonumber(argv[at + 2])
  local ttl = argv[at + 3]
  local count = tonumber(argv[at + 4])
  local PLACES = { 'merchant', 'terminal', 'country', 'mcc' }
  local DISTINCT_LANE = { merchant = 'merchants', terminal = 'terminals', country = 'countries' }
  local NO_PATCHES = {}

  local blob = redis.call('GET', aggKey)
  local agg = false
  if blob then
    if not aggregateFits(layout, blob) then return { CODES.StateLayoutMismatch } end
    agg = openAggregate(layout, blob)
  end
  local places = openPlaces(redis.call('GET', placesKey))

  local reply = { blob or '' }
  local refreshTtl = false
  for i = 0, count - 1 do
    local a = at + 4 + i * 3
    local transactionId, t, amount, flags, merchantHash, terminalHash, countryHash, mccHash, latitude, longitude =
      struct.unpack(CARD_EVENT_FORMAT, argv[a + 1])
    local band, F = bit.band, CARD_EVENT_FLAGS
    local hashes = {
      merchant = band(flags, F.merchant) ~= 0 and merchantHash or '', terminal = band(flags, F.terminal) ~= 0 and terminalHash or '',
      country = band(flags, F.country) ~= 0 and countryHash or '', mcc = band(flags, F.mcc) ~= 0 and mccHash or '',
    }
    local lastBefore = agg and agg.header[H.last] or NO_TIME
    -- Places not seen within the horizon read as never seen, whether or not a daily prune has dropped them yet.
    local prior = {}
    for _, place in ipairs(PLACES) do
      if hashes[place] ~= '' then prior[place] = placeLastSeen(places, hashes[place], lastBefore - horizon) else prior[place] = NO_TIME end
    end

    -- References older than the horizon read as absent too: a redelivery that old is refused as too old.
    local reference = redis.call('HGET', refsKey, transactionId)
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
      if bit.band(flags, CARD_EVENT_FLAGS.position) ~= 0 and t >= header[H.presentAt] then
        header[H.prevPresentAt] = header[H.presentAt]
        header[H.prevPresentLat] = header[H.presentLat]
        header[H.prevPresentLon] = header[H.presentLon]
        header[H.presentAt] = t
        header[H.presentLat] = latitude
        header[H.presentLon] = longitude
      end
      local declined = bit.band(flags, CARD_EVENT_FLAGS.declined) ~= 0 and 1 or 0
      local small = bit.band(flags, CARD_EVENT_FLAGS.small) ~= 0 and 1 or 0
      addEventToTiers(agg, t, last, amount, declined, small)
      local minute = math.floor(t / MINUTE_MS)
      for _, place in ipairs(PLACES) do
        if hashes[place] ~= '' and prior[place] < t then
          if DISTINCT_LANE[place] then moveSighting(agg, DISTINCT_LANE[place], prior[place], t, last) end
          setPlace(places, placesKey, hashes[place], minute)
        end
      end
      local terminalId, merchantId = argv[a + 3], argv[a + 2]
      redis.call('HSET', refsKey, transactionId, struct.pack('<I4BH', minute, NO_LABEL, #terminalId) .. terminalId .. merchantId)
      -- Expiry is refreshed once per day of event time (a new card starts a new day): every key outlives its last
      -- write by ttl - 1 day. Pruning scans, so it runs once per PRUNE_PERIOD_MS; reads ignore what it has not dropped.
      if math.floor(last / DAY_MS) > math.floor(lastBefore / DAY_MS) then refreshTtl = true end
      -- A card without aggregates has nothing older to drop yet (its keys expire together).
      if lastBefore ~= NO_TIME and math.floor(last / PRUNE_PERIOD_MS) > math.floor(lastBefore / PRUNE_PERIOD_MS) then
        prunePlaces(places, placesKey, last - horizon)
        local references = redis.call('HGETALL', refsKey)
        for j = 1, #references, 2 do
          if struct.unpack('<I4', references[j + 1]) * MINUTE_MS < last - horizon then
            redis.call('HDEL', refsKey, references[j])
          end
        end
      end
      -- A call of one transaction replies with the aggregate it stores: no patches to build.
      if count == 1 then agg.dirty, agg.newlyCleared, agg.changed = {}, {}, true else patches = patchAggregate(agg) end
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

  if agg and agg.changed then
    local stored = storeAggregate(agg, aggKey, refreshTtl and ttl)
    if count == 1 then reply[1], reply[2][2] = '', stored end
  end
  flushPlaces(places, placesKey)
  -- SET stores exactly the bytes given, dropping what APPEND allocated ahead (up to as much again).
  if places.appended then redis.call('SET', placesKey, redis.call('GET', placesKey), 'KEEPTTL') end
  if refreshTtl then
    redis.call('PEXPIRE', placesKey, ttl) -- the aggregates got theirs when stored
    redis.call('PEXPIRE', refsKey, ttl)
  elseif places.created then
    redis.call('PEXPIRE', placesKey, ttl)
  end
  return reply
end
