-- 0-based offset of the entry with this hash and its minute, or nil.
local function findPlace(places, hash)
  local edited = places.moved[hash]
  if edited then return edited[1], edited[2] end
  local from = 1
  while true do
    local at = string.find(places.stored, hash, from, true)
    if not at then return nil end
    if (at - 1) % 8 == 0 then return at - 1, struct.unpack('<I4', places.stored, at + 4) end
    from = at + 1
  end
end
