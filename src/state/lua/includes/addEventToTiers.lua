--- @include "isLive"
--- @include "slotOf"
-- Counts one event into every tier: count 1, amount, amount squared, and declines and small amounts when given
-- (delta 1, or 0 to skip), each into the lanes a tier has. One pass over the tiers, the same sums and clamps as
-- addToTiers lane by lane.
local function addEventToTiers(agg, timeMs, lastMs, amount, declined, small)
  local deltas = { count = 1, amount = amount, sumsq = amount * amount, declines = declined, small = small }
  for _, tier in ipairs(agg.layout.tiers) do
    local bucket = bucketOf(tier, timeMs)
    if isLive(tier, bucket, lastMs) then
      local entry = nil
      for laneName, delta in pairs(deltas) do
        local lane = tier.laneOf[laneName]
        if lane and delta ~= 0 then
          entry = entry or slotOf(agg, tier, bucket)
          local value = entry.lanes[lane] + delta
          local max = tier.counterMax[lane]
          if max then value = math.min(max, math.max(0, value)) end
          entry.lanes[lane] = value
        end
      end
      if entry then agg.dirty[tier.base + entry.slot * tier.laneCount] = entry end
    end
  end
end
