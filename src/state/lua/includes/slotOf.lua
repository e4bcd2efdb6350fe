-- The slot holding `bucket` as { tier, slot, lanes (1-based) }: decoded on first touch, zeros in a new or cleared ring.
local function slotOf(agg, tier, bucket)
  local slot = bucket % tier.slots
  local key = tier.base + slot * tier.laneCount
  local entry = agg.slots[key]
  if not entry then
    local lanes
    if agg.blob and not agg.cleared[tier.index] then
      lanes = { struct.unpack(tier.slotFormat, agg.blob, tier.offset + slot * tier.slotSize + 1) }
      lanes[tier.laneCount + 1] = nil
    else
      lanes = {}
      for i = 1, tier.laneCount do lanes[i] = 0 end
    end
    entry = { tier = tier, slot = slot, lanes = lanes }
    agg.slots[key] = entry
  end
  return entry
end
