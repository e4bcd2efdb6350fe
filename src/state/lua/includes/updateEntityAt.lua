--- @include "aggregateFits"
--- @include "openAggregate"
--- @include "addEventToTiers"
--- @include "patchAggregate"
--- @include "storeAggregate"
--- @include "advance"
--- @include "moveSighting"
--- @include "scoreBound"

-- Counts an entity's transactions (argv[at + 1 ...]: the ARGV of updateEntity-3.lua) and returns that script's reply.
local function updateEntityAt(aggKey, seenKey, cardsKey, argv, at)
  local layout = layoutNamed(argv[at + 1])
  local H = layout.headerIndex
  local lateness = tonumber(argv[at + 2])
  local ttl = argv[at + 3]
  local count = tonumber(argv[at + 4])
  local cardsHorizon = layout.cardsHorizonMs
  local keepsCards = cardsHorizon > 0
  local finest = layout.tiers[1]

  local blob = redis.call('GET', aggKey)
  local agg = false
  if blob then
    if not aggregateFits(layout, blob) then return { CODES.StateLayoutMismatch } end
    agg = openAggregate(layout, blob)
  end

  local NO_PATCHES = {}
  local reply = { blob or '' }
  local refreshTtl, cardsAdded = false, false
  for i = 0, count - 1 do
    local a = at + 4 + i * 2
    local transactionId, t, amount = struct.unpack(ENTITY_EVENT_FORMAT, argv[a + 1])
    local card = argv[a + 2]
    local lastBefore = agg and agg.header[H.last] or NO_TIME
    -- Members older than their horizon read as absent, whether or not a prune has dropped them yet.
    local priorCard = NO_TIME
    if keepsCards then
      local seen = tonumber(redis.call('ZSCORE', cardsKey, card))
      if seen and seen >= lastBefore - cardsHorizon then priorCard = seen end
    end
    local seenAt = tonumber(redis.call('ZSCORE', seenKey, transactionId))

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
      addEventToTiers(agg, t, last, amount, 0, 0)
      if keepsCards and priorCard < t then
        moveSighting(agg, 'cards', priorCard, t, last)
        if redis.call('ZADD', cardsKey, t, card) == 1 then cardsAdded = true end
        cardLastSeen = t
      end
      redis.call('ZADD', seenKey, t, transactionId)
      -- Pruning once per bucket of the finest tier keeps both sets near their horizon at a fraction of the calls;
      -- expiry is refreshed then too (a new entity starts a new bucket).
      if bucketOf(finest, last) > bucketOf(finest, lastBefore) then
        refreshTtl = true
        -- A new entity has nothing older to drop yet (its keys expire together).
        if lastBefore ~= NO_TIME then
          redis.call('ZREMRANGEBYSCORE', seenKey, '-inf', scoreBound(last - lateness))
          if keepsCards then redis.call('ZREMRANGEBYSCORE', cardsKey, '-inf', scoreBound(last - cardsHorizon)) end
        end
      end
      -- A call of one transaction replies with the aggregate it stores: no patches to build.
      if count == 1 then agg.dirty, agg.newlyCleared, agg.changed = {}, {}, true else patches = patchAggregate(agg) end
    end
    reply[#reply + 1] = { code, patches, cardLastSeen }
  end

  if agg and agg.changed then
    local stored = storeAggregate(agg, aggKey, refreshTtl and ttl)
    if count == 1 then reply[1], reply[2][2] = '', stored end
  end
  if refreshTtl then
    redis.call('PEXPIRE', seenKey, ttl)
    if keepsCards then redis.call('PEXPIRE', cardsKey, ttl) end
  elseif cardsAdded then
    -- A prune may have emptied (deleted) the set since its expiry was last set.
    redis.call('PEXPIRE', cardsKey, ttl)
  end
  return reply
end
