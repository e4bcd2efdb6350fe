-- Writes this event's changes to the stored string with SETRANGE (a new aggregate starts as zeros) and returns
-- them as byte patches { offset, bytes, ... }: the caller rebuilds the aggregate from the string it read and the
-- patches, so no full copy of it is ever built in Lua (building strings is what costs most in a script).
local function writeAggregate(agg, key)
  local layout = agg.layout
  if not agg.stored then
    redis.call('SET', key, string.sub(ZEROS, 1, layout.size))
    agg.stored = true
  end
  local patches = {}
  local function patch(offset, bytes)
    redis.call('SETRANGE', key, offset, bytes)
    patches[#patches + 1] = offset
    patches[#patches + 1] = bytes
  end
  for _, tier in ipairs(agg.newlyCleared) do patch(tier.offset, string.sub(ZEROS, 1, tier.slots * tier.slotSize)) end
  patch(0, struct.pack(layout.headerFormat, unpack(agg.header, 1, layout.headerValueCount)))
  for _, entry in pairs(agg.dirty) do
    local tier = entry.tier
    patch(tier.offset + entry.slot * tier.slotSize, struct.pack(tier.slotFormat, unpack(entry.lanes, 1, tier.laneCount)))
  end
  agg.dirty, agg.newlyCleared = {}, {}
  return patches
end
