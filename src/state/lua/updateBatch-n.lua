--[[
  Counts the transactions of many cards and other entities in one call (a batch's entities, grouped by cluster slot
  on a cluster): per entity, exactly what updateCard-3.lua or updateEntity-3.lua does. One call instead of one per
  entity saves the per-call cost (command dispatch in the client, script setup in Redis) that dominated a batch.

  KEYS[1] KEYS[2] KEYS[3]  the first entity's keys, as updateCard-3.lua or updateEntity-3.lua names them; then
                the next entity's three keys, and so on (a variable number of keys: 3 per entity)
  ARGV[1]       the first entity's kind: 'card' | 'entity', followed by its ARGV as updateCard-3.lua or
                updateEntity-3.lua reads it (the 4th value is its transaction count n); then the next entity's kind
  Reply:        one entry per entity, in order: the reply updateCard-3.lua or updateEntity-3.lua gives for it
]]
--- @include "updateCardAt"
--- @include "updateEntityAt"

local reply = {}
local at, k = 0, 0
local total = #ARGV
while at < total do
  local kind = ARGV[at + 1]
  local count = tonumber(ARGV[at + 5])
  if kind == 'card' then
    reply[#reply + 1] = updateCardAt(KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], ARGV, at + 1)
    at = at + 5 + count * 3
  else
    reply[#reply + 1] = updateEntityAt(KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], ARGV, at + 1)
    at = at + 5 + count * 2
  end
  k = k + 3
end
return reply
