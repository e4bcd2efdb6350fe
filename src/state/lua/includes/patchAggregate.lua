-- This event's changes as byte patches { offset, bytes, ... } (the caller rebuilds the aggregate from the string it
-- read and the patches). Nothing is written here: storeAggregate writes the call's end state once.
local function patchAggregate(agg)
  local layout = agg.layout
  local patches = {}
  local n = 0
  for _, tier in ipairs(agg.newlyCleared) do
    patches[n + 1], patches[n + 2] = tier.offset, string.sub(ZEROS, 1, tier.slots * tier.slotSize)
    n = n + 2
  end
  patches[n + 1], patches[n + 2] = 0, struct.pack(layout.headerFormat, unpack(agg.header, 1, layout.headerValueCount))
  n = n + 2
  for _, entry in pairs(agg.dirty) do
    local tier = entry.tier
    patches[n + 1] = tier.offset + entry.slot * tier.slotSize
    patches[n + 2] = struct.pack(tier.slotFormat, unpack(entry.lanes, 1, tier.laneCount))
    n = n + 2
  end
  agg.dirty, agg.newlyCleared, agg.changed = {}, {}, true
  return patches
end
