--- @include "isLive"
--- @include "addToLane"
-- Adds to a lane of every tier that has it, when the event's bucket is still live.
local function addToTiers(agg, timeMs, lastMs, laneName, delta)
  for _, tier in ipairs(agg.layout.tiers) do
    local lane = tier.laneOf[laneName]
    if lane then
      local bucket = bucketOf(tier, timeMs)
      if isLive(tier, bucket, lastMs) then addToLane(agg, tier, bucket, lane, delta) end
    end
  end
end
