--- @include "aggregateFits"
--- @include "slotEdits"
--- @include "cardPlaces"
--- @include "replyBuffer"

-- Written for the card layout as it is (scripts.ts checks these against layout.ts when it assembles the scripts):
--- @expects card header last,prev,presentAt,prevPresentAt,presentLat,presentLon,prevPresentLat,prevPresentLon
--- @expects card tiers m10,h1,d1,d7,d30
--- @expects card m10 count,amount,declines,small
--- @expects card h1 count,amount,declines,small
--- @expects card d1 count,amount,merchants,terminals,countries
--- @expects card d7 count,amount
--- @expects card d30 count,amount,sumsq

-- Counts a card's `count` transactions, packed as updateBatch-n.lua describes, at argv[first] ... argv[first +
-- count - 1], and puts the card's reply (updateBatch-n.lua). The header lives in locals and each tier's slot is
-- read and written once per event, with the lanes written out.
local function updateCardAt(aggKey, placesKey, refsKey, lateness, horizon, ttl, count, argv, first)
  local layout = layoutNamed('card')
  local floor, unpack, pack, band = math.floor, struct.unpack, struct.pack, bit.band
  local APPLIED, DUPLICATE, TOO_OLD = CODES.Applied, CODES.Duplicate, CODES.TooOld
  local F = CARD_EVENT_FLAGS
  local tiers = layout.tiers
  local m10, h1, d1, d7, d30 = tiers[1], tiers[2], tiers[3], tiers[4], tiers[5]
  local d1Width = d1.widthMs
  local MERCHANTS, TERMINALS, COUNTRIES = d1.laneOf.merchants, d1.laneOf.terminals, d1.laneOf.countries
  local max = layout.counterMax
  local headerFormat, version = layout.headerFormat, layout.version

  local blob = redis.call('GET', aggKey)
  local last, prev, presentAt, prevPresentAt = NO_TIME, NO_TIME, NO_TIME, NO_TIME
  local presentLat, presentLon, prevPresentLat, prevPresentLon = 0, 0, 0, 0
  if blob then
    if not aggregateFits(layout, blob) then
      putMismatch()
      return
    end
    local _
    _, last, prev, presentAt, prevPresentAt, presentLat, presentLon, prevPresentLat, prevPresentLon = unpack(headerFormat, blob)
  end
  local places = openPlaces(redis.call('GET', placesKey))

  local NO_PATCHES = {}
  local edit, header = false, nil
  local written, writtenCount -- the latest applied transaction's patches, header excluded (for a call of one)
  local reply = { blob or '', nil } -- sized for the usual single transaction
  local refreshTtl = false
  for i = 0, count - 1 do
    local event = argv[first + i]
    local transactionId, t, amount, flags, merchantHash, terminalHash, countryHash, mccHash, latitude, longitude =
      unpack(CARD_EVENT_FORMAT, event)
    local hasMerchant, hasTerminal = band(flags, F.merchant) ~= 0, band(flags, F.terminal) ~= 0
    local hasCountry, hasMcc = band(flags, F.country) ~= 0, band(flags, F.mcc) ~= 0
    local lastBefore = last
    local cutoff = lastBefore - horizon
    -- Places not seen within the horizon read as never seen, whether or not a weekly prune has dropped them yet.
    local priorMerchant, priorTerminal, priorCountry, priorMcc = NO_TIME, NO_TIME, NO_TIME, NO_TIME
    local merchantAt, terminalAt, countryAt, mccAt
    if hasMerchant then priorMerchant, merchantAt = placeLastSeen(places, merchantHash, cutoff) end
    if hasTerminal then priorTerminal, terminalAt = placeLastSeen(places, terminalHash, cutoff) end
    if hasCountry then priorCountry, countryAt = placeLastSeen(places, countryHash, cutoff) end
    if hasMcc then priorMcc, mccAt = placeLastSeen(places, mccHash, cutoff) end
    local minute = floor(t / MINUTE_MS)

    -- Idempotency in one command for a transaction that would count: HSETNX both records its reference and says
    -- whether there was one; only then (or when it is too old to count) is the reference read. References older
    -- than the horizon read as absent: a redelivery that old is refused as too old, or counted again.
    local code = APPLIED
    if t < lastBefore - lateness then
      local reference = redis.call('HGET', refsKey, transactionId)
      if reference and unpack('<I4', reference) * MINUTE_MS >= cutoff then code = DUPLICATE else code = TOO_OLD end
    else
      -- The reference: minute and label, then the event's tail as the client packed it (#terminalId, ids).
      local value = pack('<I4B', minute, NO_LABEL) .. string.sub(event, CARD_EVENT_BYTES + 1)
      if redis.call('HSETNX', refsKey, transactionId, value) == 0 then
        if unpack('<I4', redis.call('HGET', refsKey, transactionId)) * MINUTE_MS >= cutoff then
          code = DUPLICATE
        else
          redis.call('HSET', refsKey, transactionId, value)
        end
      end
    end

    local patches, entries = NO_PATCHES, 0
    local applied = code == APPLIED
    local moveMerchant = applied and hasMerchant and priorMerchant < t
    local moveTerminal = applied and hasTerminal and priorTerminal < t
    local moveCountry = applied and hasCountry and priorCountry < t
    if applied then
      edit = edit or openEdits(blob, count > 1)
      patches = newPatches()
      local n = 0
      -- A new aggregate (never stored, no time yet) is all zeros already: no ring to advance.
      local advancing = t > last and (last ~= NO_TIME or blob)
      if t >= last then
        prev = last
        last = t
      end
      if band(flags, F.position) ~= 0 and t >= presentAt then
        prevPresentAt, prevPresentLat, prevPresentLon = presentAt, presentLat, presentLon
        presentAt, presentLat, presentLon = t, latitude, longitude
      end
      local declined = band(flags, F.declined) ~= 0 and 1 or 0
      local small = band(flags, F.small) ~= 0 and 1 or 0
      local offset, c, sum, x, y, z

      -- m10 and h1: count, amount, declines, small. Counters clamp to 0..max (a + 1 never goes below 0).
      for k = 1, 2 do
        local tier = k == 1 and m10 or h1
        offset, n, c, sum, x, y = openSlot(edit, tier, lastBefore, last, t, advancing, patches, n)
        if offset then
          c, x, y = c + 1, x + declined, y + small
          if c > max then c = max end
          if x > max then x = max end
          if y > max then y = max end
          if amount ~= 0 then sum = sum + amount end -- a zero delta leaves a lane as it is (0.0 + -0.0 is not -0.0)
          n = writeSlot(edit, offset, pack(tier.slotFormat, c, sum, x, y), patches, n)
        end
      end
      -- d1: count, amount and the distinct merchants, terminals and countries: a sighting moves from its previous
      -- bucket to this one.
      offset, n, c, sum, x, y, z = openSlot(edit, d1, lastBefore, last, t, advancing, patches, n)
      if offset then
        local bucket = floor(t / d1Width)
        c = c + 1
        if c > max then c = max end
        if amount ~= 0 then sum = sum + amount end
        if moveMerchant then x = sightingHere(x, priorMerchant, d1Width, bucket, max) end
        if moveTerminal then y = sightingHere(y, priorTerminal, d1Width, bucket, max) end
        if moveCountry then z = sightingHere(z, priorCountry, d1Width, bucket, max) end
        n = writeSlot(edit, offset, pack(d1.slotFormat, c, sum, x, y, z), patches, n)
      end
      if moveMerchant and priorMerchant ~= NO_TIME then n = leaveBucket(edit, d1, MERCHANTS, priorMerchant, t, last, patches, n) end
      if moveTerminal and priorTerminal ~= NO_TIME then n = leaveBucket(edit, d1, TERMINALS, priorTerminal, t, last, patches, n) end
      if moveCountry and priorCountry ~= NO_TIME then n = leaveBucket(edit, d1, COUNTRIES, priorCountry, t, last, patches, n) end
      -- d7: count, amount; d30: count, amount, sum of squares.
      offset, n, c, sum = openSlot(edit, d7, lastBefore, last, t, advancing, patches, n)
      if offset then
        c = c + 1
        if c > max then c = max end
        if amount ~= 0 then sum = sum + amount end
        n = writeSlot(edit, offset, pack(d7.slotFormat, c, sum), patches, n)
      end
      offset, n, c, sum, x = openSlot(edit, d30, lastBefore, last, t, advancing, patches, n)
      if offset then
        local square = amount * amount
        c = c + 1
        if c > max then c = max end
        if amount ~= 0 then sum = sum + amount end
        if square ~= 0 then x = x + square end
        n = writeSlot(edit, offset, pack(d30.slotFormat, c, sum, x), patches, n)
      end

      header = pack(headerFormat, version, last, prev, presentAt, prevPresentAt, presentLat, presentLon, prevPresentLat, prevPresentLon)
      patches[n + 1], patches[n + 2] = 0, header
      entries = n + 2
      written, writtenCount = patches, n

      if moveMerchant then setPlace(places, merchantHash, minute, merchantAt) end
      if moveTerminal then setPlace(places, terminalHash, minute, terminalAt) end
      if moveCountry then setPlace(places, countryHash, minute, countryAt) end
      if hasMcc and priorMcc < t then setPlace(places, mccHash, minute, mccAt) end

      -- Expiry is refreshed once per day of event time (a new card starts a new day): every key outlives its last
      -- write by ttl - 1 day. Pruning scans, so it runs once per PRUNE_PERIOD_MS; reads ignore what it has not dropped.
      if floor(last / DAY_MS) > floor(lastBefore / DAY_MS) then refreshTtl = true end
      -- A card without aggregates has nothing older to drop yet (its keys expire together).
      if lastBefore ~= NO_TIME and floor(last / PRUNE_PERIOD_MS) > floor(lastBefore / PRUNE_PERIOD_MS) then
        prunePlaces(places, placesKey, last - horizon)
        local references = redis.call('HGETALL', refsKey)
        local expired = {}
        for j = 1, #references, 2 do
          if unpack('<I4', references[j + 1]) * MINUTE_MS < last - horizon then expired[#expired + 1] = references[j] end
        end
        if #expired > 0 then redis.call('HDEL', refsKey, unpackList(expired)) end
      end
    end

    local seenNow = minute * MINUTE_MS
    local firstBefore = t - horizon
    reply[i + 2] = {
      code,
      patches,
      entries,
      -- The card's tail: when it last saw the merchant, terminal and country, and which of them (and the MCC) this
      -- is the first sighting of within the horizon (flags 1 country, 2 MCC, 4 merchant).
      pack(
        '<dddB',
        hasMerchant and (moveMerchant and seenNow or priorMerchant) or NO_TIME,
        hasTerminal and (moveTerminal and seenNow or priorTerminal) or NO_TIME,
        hasCountry and (moveCountry and seenNow or priorCountry) or NO_TIME,
        ((hasCountry and priorCountry < firstBefore) and 1 or 0)
          + ((hasMcc and priorMcc < firstBefore) and 2 or 0)
          + ((hasMerchant and priorMerchant < firstBefore) and 4 or 0)
      ),
    }
  end

  storeCallEdits(edit, aggKey, layout, header, refreshTtl and ttl, written, writtenCount, reply, count)
  local placesExpiry = flushPlaces(places, placesKey, refreshTtl, ttl)
  if refreshTtl then
    if not placesExpiry then redis.call('PEXPIRE', placesKey, ttl) end -- the aggregates got theirs when stored
    redis.call('PEXPIRE', refsKey, ttl)
  end
  putEntityReply(reply, count)
end
