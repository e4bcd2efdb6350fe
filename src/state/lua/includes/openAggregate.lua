-- Opens the fixed part of a stored aggregate (false: a new one) for editing. Only the header is decoded now; a
-- slot is decoded when first touched (slotOf) and kept, so later events of the same call see their predecessors.
local function openAggregate(layout, blob)
  local header
  if blob then
    header = { struct.unpack(layout.headerFormat, blob) }
  else
    header = { layout.version }
    for i = 2, layout.headerValueCount do header[i] = 0 end
    for _, index in ipairs(layout.timeIndexes) do header[index] = NO_TIME end
  end
  header[layout.headerValueCount + 1] = nil -- struct.unpack also returns the next read position
  return { layout = layout, blob = blob, stored = blob and true, header = header, slots = {}, dirty = {}, cleared = {}, newlyCleared = {} }
end
