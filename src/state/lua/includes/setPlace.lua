--- @include "findPlace"
-- Records a sighting: the entry's minute in place (in Redis, or in a pending entry), or a new pending entry at the
-- end (flushPlaces writes them all at once).
local function setPlace(places, key, hash, minute)
  local offset = findPlace(places, hash)
  if offset then
    if offset >= places.flushed then
      places.pending[(offset - places.flushed) / 8 + 1] = hash .. struct.pack('<I4', minute)
    else
      redis.call('SETRANGE', key, offset + 4, struct.pack('<I4', minute))
    end
  else
    offset = places.length
    places.pending[#places.pending + 1] = hash .. struct.pack('<I4', minute)
    places.length = places.length + 8
  end
  places.moved[hash] = { offset, minute }
end
