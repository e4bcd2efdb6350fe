--- @include "advanceRings"
-- Moves the header's last/prev and the rings forward to an event at timeMs; returns the new last.
local function advance(agg, timeMs)
  local H = agg.layout.headerIndex
  local last = agg.header[H.last]
  if timeMs > last then advanceRings(agg, last, timeMs) end
  if timeMs >= last then
    if H.prev then agg.header[H.prev] = last end
    agg.header[H.last] = timeMs
    return timeMs
  end
  return last
end
