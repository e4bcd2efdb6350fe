--- @include "findPlace"
-- When the card last saw this place (ms, minute precision), or NO_TIME when never or before cutoffMs.
local function placeLastSeen(places, hash, cutoffMs)
  local offset, minute = findPlace(places, hash)
  if not offset or minute * MINUTE_MS < cutoffMs then return NO_TIME end
  return minute * MINUTE_MS
end
