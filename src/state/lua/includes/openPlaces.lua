-- The card's places: 8-byte entries (4-byte hash of "kind:id", 4-byte minute last seen), read from the stored
-- string and edited in Redis; `moved` keeps this call's edits (hash -> { offset, minute }) without rebuilding it.
-- New entries wait in `pending` (beyond the first `flushed` bytes, which are in Redis) for one write at the end.
local function openPlaces(stored)
  local length = stored and #stored or 0
  return { stored = stored or '', length = length, moved = {}, pending = {}, flushed = length }
end
