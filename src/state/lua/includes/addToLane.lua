--- @include "slotOf"
-- Counters clamp to 0..their maximum, exactly as the TypeScript twin does.
local function addToLane(agg, tier, bucket, lane, delta)
  local entry = slotOf(agg, tier, bucket)
  local value = entry.lanes[lane] + delta
  local max = tier.counterMax[lane]
  if max then value = math.min(max, math.max(0, value)) end
  entry.lanes[lane] = value
  agg.dirty[tier.base + entry.slot * tier.laneCount] = entry
end
