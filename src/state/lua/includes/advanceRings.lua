--- @include "bucketOf"
--- @include "slotOf"
-- Zeroes the slots of the buckets passed over when the newest event time moves from fromMs to toMs.
-- A new aggregate (never stored, no time yet) is all zeros already: nothing to clear.
local function advanceRings(agg, fromMs, toMs)
  if fromMs == NO_TIME and not agg.blob then return end
  for _, tier in ipairs(agg.layout.tiers) do
    local fromHead = bucketOf(tier, fromMs)
    local toHead = bucketOf(tier, toMs)
    if toHead - fromHead >= tier.slots then
      agg.cleared[tier.index] = true
      agg.newlyCleared[#agg.newlyCleared + 1] = tier
      for slot = 0, tier.slots - 1 do
        local key = tier.base + slot * tier.laneCount
        agg.slots[key], agg.dirty[key] = nil, nil
      end
    else
      for bucket = fromHead + 1, toHead do
        local entry = slotOf(agg, tier, bucket)
        for i = 1, tier.laneCount do entry.lanes[i] = 0 end
        agg.dirty[tier.base + entry.slot * tier.laneCount] = entry
      end
    end
  end
end
