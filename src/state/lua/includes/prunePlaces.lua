--- @include "findPlace"
-- Rewrites the places without those last seen before cutoffMs, keeping the others in order (once a day: a scan).
local function prunePlaces(places, key, cutoffMs)
  local entries = {}
  for at = 0, places.length - 8, 8 do entries[at] = false end
  for at = 1, #places.stored, 8 do entries[at - 1] = { string.sub(places.stored, at, at + 3), struct.unpack('<I4', places.stored, at + 4) } end
  for hash, edited in pairs(places.moved) do entries[edited[1]] = { hash, edited[2] } end
  local kept = {}
  for at = 0, places.length - 8, 8 do
    local entry = entries[at]
    if entry and entry[2] * MINUTE_MS >= cutoffMs then kept[#kept + 1] = entry[1] .. struct.pack('<I4', entry[2]) end
  end
  local pruned = table.concat(kept)
  if pruned == '' then redis.call('DEL', key) else redis.call('SET', key, pruned) end
  places.stored, places.length, places.moved, places.pending, places.flushed = pruned, #pruned, {}, {}, #pruned
end
