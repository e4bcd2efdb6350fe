-- Stores the aggregate as this call left it with one SET (with this expiry, ms, or keeping the key's), instead of
-- one SETRANGE per patch: slots the call touched from their lanes, rings cleared by it (or a new aggregate) as
-- zeros, the rest as read, untouched runs of slots copied in one piece. Returns the stored string.
local function storeAggregate(agg, key, ttl)
  local layout = agg.layout
  local blob = agg.blob
  local parts = { struct.pack(layout.headerFormat, unpack(agg.header, 1, layout.headerValueCount)) }
  local n = 1
  local slots = agg.slots
  for _, tier in ipairs(layout.tiers) do
    local source = (not blob or agg.cleared[tier.index]) and ZEROS or blob
    local base, laneCount, slotSize, offset = tier.base, tier.laneCount, tier.slotSize, tier.offset
    local runFrom = offset -- 0-based start of the current run of untouched slots
    for slot = 0, tier.slots - 1 do
      local entry = slots[base + slot * laneCount]
      if entry then
        local at = offset + slot * slotSize
        if at > runFrom then
          n = n + 1
          parts[n] = string.sub(source, (source == ZEROS and 1 or runFrom + 1), (source == ZEROS and at - runFrom or at))
        end
        n = n + 1
        parts[n] = struct.pack(tier.slotFormat, unpack(entry.lanes, 1, laneCount))
        runFrom = at + slotSize
      end
    end
    local tierEnd = offset + tier.slots * slotSize
    if tierEnd > runFrom then
      n = n + 1
      parts[n] = string.sub(source, (source == ZEROS and 1 or runFrom + 1), (source == ZEROS and tierEnd - runFrom or tierEnd))
    end
  end
  local stored = table.concat(parts)
  if ttl then redis.call('SET', key, stored, 'PX', ttl) else redis.call('SET', key, stored, 'KEEPTTL') end
  return stored
end
