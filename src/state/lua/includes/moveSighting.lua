--- @include "addToTiers"
-- Moves a distinct counter from the bucket of the previous sighting to the bucket of this one.
local function moveSighting(agg, laneName, priorMs, timeMs, lastMs)
  if priorMs ~= NO_TIME then addToTiers(agg, priorMs, lastMs, laneName, -1) end
  addToTiers(agg, timeMs, lastMs, laneName, 1)
end
