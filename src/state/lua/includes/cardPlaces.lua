local unpackList = unpack -- Lua's own unpack (the scripts' locals named unpack are struct.unpack)

-- The card's places: a string of 8-byte entries (4-byte hash of "kind:id", 4-byte minute last seen), read once per
-- call. Changes wait in `changed` (hash -> offset * 2^32 + minute: the entry's 0-based offset, at or past #stored for
-- entries added in this call, in `added` order, and its new minute; one number per change instead of a table) and
-- are written once at the end (flushPlaces). The tables are made on first use: most calls change few places.
local TWO_32 = 4294967296

local function openPlaces(stored)
  stored = stored or ''
  return { stored = stored, length = #stored, changed = false, added = false, edits = 0 }
end

-- 0-based offset of the entry with this hash and its minute, or nil.
local function findPlace(places, hash)
  local changed = places.changed
  if changed then
    local change = changed[hash]
    if change then
      local minute = change % TWO_32
      return (change - minute) / TWO_32, minute
    end
  end
  local stored = places.stored
  local from = 1
  while true do
    local at = string.find(stored, hash, from, true)
    if not at then return nil end
    if (at - 1) % 8 == 0 then return at - 1, (struct.unpack('<I4', stored, at + 4)) end
    from = at + 1
  end
end

-- When the card last saw this place (ms, minute precision; NO_TIME when never or before cutoffMs), and the entry's
-- offset (nil when there is none) for setPlace.
local function placeLastSeen(places, hash, cutoffMs)
  local offset, minute = findPlace(places, hash)
  if not offset then return NO_TIME end
  if minute * MINUTE_MS < cutoffMs then return NO_TIME, offset end
  return minute * MINUTE_MS, offset
end

-- Records a sighting: the entry's new minute, or a new entry at the end. `offset` is what placeLastSeen found
-- earlier in this event (the stored string does not change within an event; this call's changes are looked up again).
local function setPlace(places, hash, minute, offset)
  local changed = places.changed
  if not changed then
    changed = {}
    places.changed = changed
  end
  local change = changed[hash]
  if change then
    offset = (change - change % TWO_32) / TWO_32
  elseif offset then
    places.edits = places.edits + 1
  else
    offset = places.length
    places.length = offset + 8
    local added = places.added
    if not added then
      added = {}
      places.added = added
    end
    added[#added + 1] = hash
  end
  changed[hash] = offset * TWO_32 + minute
end

-- Writes the call's changes: with no new entry, each changed minute in place (SETRANGE); else the whole string in
-- one SET (APPEND would leave up to as much again allocated behind it), a new one with its expiry, an existing one
-- keeping its own unless refreshTtl. Returns true when it gave the key its expiry.
local function flushPlaces(places, key, refreshTtl, ttl)
  local changed, added = places.changed, places.added
  if not changed then return false end
  if not added then
    for _, change in pairs(changed) do
      local minute = change % TWO_32
      redis.call('SETRANGE', key, offsetString((change - minute) / TWO_32 + 4), struct.pack('<I4', minute))
    end
    return false
  end
  local stored = places.stored
  local storedLength = #stored
  local parts, n = {}, 0
  if places.edits > 0 then
    -- Entries edited in place, in offset order, between the unchanged runs of the stored string.
    local edited, minuteAt = {}, {}
    for _, change in pairs(changed) do
      local minute = change % TWO_32
      local offset = (change - minute) / TWO_32
      if offset < storedLength then
        edited[#edited + 1] = offset
        minuteAt[offset] = minute
      end
    end
    table.sort(edited)
    local from = 0
    for _, offset in ipairs(edited) do
      parts[n + 1], parts[n + 2] = string.sub(stored, from + 1, offset + 4), struct.pack('<I4', minuteAt[offset])
      n = n + 2
      from = offset + 8
    end
    n = n + 1
    parts[n] = string.sub(stored, from + 1)
  elseif storedLength > 0 then
    n = 1
    parts[1] = stored
  end
  for _, hash in ipairs(added) do
    parts[n + 1], parts[n + 2] = hash, struct.pack('<I4', changed[hash] % TWO_32)
    n = n + 2
  end
  if storedLength == 0 or refreshTtl then
    redis.call('SET', key, table.concat(parts), 'PX', ttl)
    return true
  end
  redis.call('SET', key, table.concat(parts), 'KEEPTTL')
  return false
end

-- Rewrites the places without those last seen before cutoffMs, keeping the others in order (once a week: a scan).
local function prunePlaces(places, key, cutoffMs)
  local stored, changed = places.stored, places.changed or {}
  local kept, n = {}, 0
  for at = 1, #stored - 7, 8 do
    local hash = string.sub(stored, at, at + 3)
    local minute = struct.unpack('<I4', stored, at + 4)
    local change = changed[hash]
    if change and change - change % TWO_32 == (at - 1) * TWO_32 then minute = change % TWO_32 end
    if minute * MINUTE_MS >= cutoffMs then
      kept[n + 1], kept[n + 2] = hash, struct.pack('<I4', minute)
      n = n + 2
    end
  end
  for _, hash in ipairs(places.added or {}) do
    local minute = changed[hash] % TWO_32
    if minute * MINUTE_MS >= cutoffMs then
      kept[n + 1], kept[n + 2] = hash, struct.pack('<I4', minute)
      n = n + 2
    end
  end
  local pruned = table.concat(kept)
  if pruned == '' then redis.call('DEL', key) else redis.call('SET', key, pruned) end
  places.stored, places.length, places.changed, places.added, places.edits = pruned, #pruned, false, false, 0
end
