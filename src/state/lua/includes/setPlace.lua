--- @include "findPlace"
-- Records a sighting in Redis: the entry's minute in place, or a new entry at the end.
local function setPlace(places, key, hash, minute)
  local offset = findPlace(places, hash)
  if offset then
    redis.call('SETRANGE', key, offset + 4, struct.pack('<I4', minute))
  else
    offset = places.length
    if offset == 0 then places.created = true end -- a new key: the caller gives it an expiry
    places.appended = true -- APPEND leaves slack behind: the caller compacts the string once done
    redis.call('APPEND', key, hash .. struct.pack('<I4', minute))
    places.length = places.length + 8
  end
  places.moved[hash] = { offset, minute }
end
