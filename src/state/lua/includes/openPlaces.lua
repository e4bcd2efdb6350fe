-- The card's places: 8-byte entries (4-byte hash of "kind:id", 4-byte minute last seen), read from the stored
-- string and edited in Redis; `moved` keeps this call's edits (hash -> { offset, minute }) without rebuilding it.
local function openPlaces(stored)
  return { stored = stored or '', length = stored and #stored or 0, moved = {} }
end
