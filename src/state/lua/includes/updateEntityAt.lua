--- @include "aggregateFits"
--- @include "slotEdits"
--- @include "scoreBound"
--- @include "replyBuffer"

-- Counts an entity's `count` transactions, packed as updateBatch-n.lua describes, at argv[first] ... argv[first +
-- count - 1], and puts the entity's reply (updateBatch-n.lua).
-- One code for the layouts account, acceptor and client: per tier, the event's slot is read and written once with
-- the lanes it has among count, amount, sumsq and cards.
local function updateEntityAt(aggKey, seenKey, layoutName, lateness, ttl, count, argv, first)
  local layout = layoutNamed(layoutName)
  local floor, unpack, pack = math.floor, struct.unpack, struct.pack
  local APPLIED, DUPLICATE, TOO_OLD = CODES.Applied, CODES.Duplicate, CODES.TooOld
  local cardsHorizon = layout.cardsHorizonMs
  local keepsCards = cardsHorizon > 0
  local tiers = layout.tiers
  local tierCount = #tiers
  local max = layout.counterMax
  local headerFormat, version = layout.headerFormat, layout.version

  local blob = redis.call('GET', aggKey)
  local last, prev = NO_TIME, NO_TIME -- the header: 'last' and, in layouts that have it, 'prev'
  if blob then
    if not aggregateFits(layout, blob) then
      putMismatch()
      return
    end
    local _, storedLast, storedPrev = unpack(headerFormat, blob)
    last = storedLast
    if layout.hasPrev then prev = storedPrev end
  end

  local NO_PATCHES = {}
  local edit, header = false, nil
  local written, writtenCount -- the latest applied transaction's patches, header excluded (for a call of one)
  local reply = { blob or '', nil } -- sized for the usual single transaction
  local refreshTtl = false
  for i = 0, count - 1 do
    local event = argv[first + i]
    local transactionId, t, amount = unpack(ENTITY_EVENT_FORMAT, event)
    local card = string.sub(event, ENTITY_EVENT_BYTES + 1)
    local lastBefore = last
    -- Members older than their horizon read as absent, whether or not a prune has dropped them yet.
    local priorCard = NO_TIME
    if keepsCards then
      local seen = tonumber(redis.call('ZSCORE', seenKey, card))
      if seen and seen >= lastBefore - cardsHorizon then priorCard = seen end
    end

    -- Idempotency in one command for a transaction that would count: ZADD NX both records it and says whether it
    -- was there; only then (or when it is too old to count) is its time read, to tell a duplicate from a stale entry.
    local code = APPLIED
    local time
    if t < lastBefore - lateness then
      local seenAt = tonumber(redis.call('ZSCORE', seenKey, transactionId))
      if seenAt and seenAt - SEEN_OFFSET >= lastBefore - lateness then code = DUPLICATE else code = TOO_OLD end
    else
      time = timeString(t)
      local seenTime = timeString(t + SEEN_OFFSET)
      if redis.call('ZADD', seenKey, 'NX', seenTime, transactionId) == 0 then
        if tonumber(redis.call('ZSCORE', seenKey, transactionId)) - SEEN_OFFSET >= lastBefore - lateness then
          code = DUPLICATE
        else
          redis.call('ZADD', seenKey, seenTime, transactionId)
        end
      end
    end

    local patches, entries = NO_PATCHES, 0
    local cardLastSeen = priorCard
    if code == APPLIED then
      edit = edit or openEdits(blob, count > 1)
      patches = newPatches()
      local n = 0
      -- A new aggregate (never stored, no time yet) is all zeros already: no ring to advance.
      local advancing = t > last and (last ~= NO_TIME or blob)
      if t >= last then
        prev = last
        last = t
      end
      local moveCard = keepsCards and priorCard < t
      local square = amount * amount
      for k = 1, tierCount do
        local tier = tiers[k]
        local cardsLane = moveCard and tier.cardsLane
        -- Lane 1 is the count; lane 2 the amount (3: its square) or the distinct cards (scripts.ts checks).
        local offset, c, x, y
        offset, n, c, x, y = openSlot(edit, tier, lastBefore, last, t, advancing, patches, n)
        if offset then
          c = c + 1
          if c > max then c = max end
          if tier.amountLane then
            if amount ~= 0 then x = x + amount end -- a zero delta leaves a lane as it is (0.0 + -0.0 is not -0.0)
            if tier.sumsqLane and square ~= 0 then y = y + square end
          elseif cardsLane then
            x = sightingHere(x, priorCard, tier.widthMs, floor(t / tier.widthMs), max)
          end
          n = writeSlot(edit, offset, pack(tier.slotFormat, c, x, y), patches, n)
        end
        if cardsLane and priorCard ~= NO_TIME then n = leaveBucket(edit, tier, cardsLane, priorCard, t, last, patches, n) end
      end
      header = pack(headerFormat, version, last, prev)
      patches[n + 1], patches[n + 2] = 0, header
      entries = n + 2
      written, writtenCount = patches, n
      if moveCard then
        redis.call('ZADD', seenKey, time, card)
        cardLastSeen = t
      end
      -- Pruning once per hour of event time keeps both kinds of member within an hour of their horizon at a
      -- fraction of the calls (reads ignore what a prune has not dropped yet); expiry, weeks long, is refreshed then
      -- too (a new entity starts a new hour).
      if floor(last / ENTITY_PRUNE_MS) > floor(lastBefore / ENTITY_PRUNE_MS) then
        refreshTtl = true
        -- A new entity has nothing older to drop yet (its keys expire together).
        if lastBefore ~= NO_TIME then
          redis.call('ZREMRANGEBYSCORE', seenKey, SEEN_FLOOR, scoreBound(last - lateness + SEEN_OFFSET))
          if keepsCards then redis.call('ZREMRANGEBYSCORE', seenKey, '-inf', scoreBound(last - cardsHorizon)) end
        end
      end
    end
    reply[i + 2] = { code, patches, entries, pack('<d', cardLastSeen) }
  end

  storeCallEdits(edit, aggKey, layout, header, refreshTtl and ttl, written, writtenCount, reply, count)
  -- The set is never empty after a call that counted something (its own id outlives the prune), and it expires
  -- with the aggregates: both get the same expiry in the same calls, so a set this call created comes with a new
  -- entity, whose first call refreshes the expiry.
  if refreshTtl then redis.call('PEXPIRE', seenKey, ttl) end
  putEntityReply(reply, count)
end
