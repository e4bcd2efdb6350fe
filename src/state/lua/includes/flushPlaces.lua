-- Writes the pending new entries with one command: a new string is SET (exactly its size; the caller gives it an
-- expiry), an existing one APPENDed to (APPEND leaves slack behind: the caller compacts the string once done).
local function flushPlaces(places, key)
  if #places.pending == 0 then return end
  local added = table.concat(places.pending)
  if places.flushed == 0 then
    redis.call('SET', key, added)
    places.created = true
  else
    redis.call('APPEND', key, added)
    places.appended = true
  end
  places.pending, places.flushed = {}, places.length
end
