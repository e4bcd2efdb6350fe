-- Editing an aggregate without decoding it into tables. `edit.blob` is the string as read (false: a new aggregate,
-- all zeros). A slot is read with one struct.unpack and written back as one packed string, recorded as a patch of
-- the event: patches are aligned to slots and never overlap (except a slot written twice, the later winning). A call
-- of several transactions also keeps `edit.overlay` (a slot's 0-based offset -> its bytes after the call's changes
-- so far), so later events read earlier ones' changes. storeEdits writes the end state once.
local floor, sunpack, spack = math.floor, struct.unpack, struct.pack -- upvalues: no global and field lookup per use
local SLOT = {} -- scratch lanes of one slot, for code that addresses lanes by position (reused: no table per slot)
local PARTS = {} -- scratch pieces of an assembled aggregate (table.concat takes a prefix: no table per call)

-- Zeros of a length, made once per call and length.
local ZERO_STRINGS = {}
local function zerosOf(length)
  local zeros = ZERO_STRINGS[length]
  if not zeros then
    zeros = string.sub(ZEROS, 1, length)
    ZERO_STRINGS[length] = zeros
  end
  return zeros
end

local function openEdits(blob, several)
  return { blob = blob, overlay = several and {}, several = several }
end

-- A patch list sized for an event's usual patches up front: growing a table rehashes it at every power of two.
local function newPatches()
  return { nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil }
end

-- The lanes of the slot at `offset` (struct.unpack's values: a trailing position follows when the blob is read).
local function readSlot(edit, offset, format)
  local overlay = edit.overlay
  if overlay then
    local bytes = overlay[offset]
    if bytes then return sunpack(format, bytes) end
  end
  if edit.blob then return sunpack(format, edit.blob, offset + 1) end
  return 0, 0, 0, 0, 0
end

local function writeSlot(edit, offset, bytes, patches, n)
  local overlay = edit.overlay
  if overlay then overlay[offset] = bytes end
  patches[n + 1], patches[n + 2] = offset, bytes
  return n + 2
end

-- Moves a ring's head from fromHead to head (> fromHead), zeroing the slots of the buckets passed over, as patches
-- around the new head's slot; returns the patch count. The head's slot is the event's, which the caller writes from
-- zeros (every tier has a count lane: scripts.ts checks the layouts).
local function advanceTier(edit, tier, fromHead, head, patches, n)
  local slots, size, offset = tier.slots, tier.slotSize, tier.offset
  local overlay = edit.several and edit.overlay
  local zero = tier.zeroSlot
  if head - fromHead >= slots then
    local headAt = offset + (head % slots) * size
    local ringEnd = offset + slots * size
    if headAt > offset then
      patches[n + 1], patches[n + 2] = offset, zerosOf(headAt - offset)
      n = n + 2
    end
    if ringEnd > headAt + size then
      patches[n + 1], patches[n + 2] = headAt + size, zerosOf(ringEnd - headAt - size)
      n = n + 2
    end
    if overlay then
      for slot = 0, slots - 1 do overlay[offset + slot * size] = zero end
    end
    return n
  end
  for bucket = fromHead + 1, head - 1 do
    local at = offset + (bucket % slots) * size
    if overlay then overlay[at] = zero end
    patches[n + 1], patches[n + 2] = at, zero
    n = n + 2
  end
  if overlay then overlay[offset + (head % slots) * size] = zero end
  return n
end

-- For an event at timeMs: advances the ring when the event moves the aggregate's newest time (`advancing`), and
-- returns the 0-based offset of the event's slot (false when the ring no longer holds its bucket), the patch count
-- and the slot's lanes (zeros when the ring just advanced to it: advancing, the event's bucket is the new head).
local function openSlot(edit, tier, lastBeforeMs, lastMs, timeMs, advancing, patches, n)
  local width, slots = tier.widthMs, tier.slots
  local head = floor(lastMs / width)
  local bucket = floor(timeMs / width)
  if advancing then
    local fromHead = floor(lastBeforeMs / width)
    if head > fromHead then
      return tier.offset + (bucket % slots) * tier.slotSize, advanceTier(edit, tier, fromHead, head, patches, n), 0, 0, 0, 0, 0
    end
  end
  if bucket > head or bucket <= head - slots then return false, n end
  local offset = tier.offset + (bucket % slots) * tier.slotSize
  local overlay = edit.overlay -- readSlot, inlined: this runs for every tier of every event
  local bytes = overlay and overlay[offset]
  if bytes then return offset, n, sunpack(tier.slotFormat, bytes) end
  if edit.blob then return offset, n, sunpack(tier.slotFormat, edit.blob, offset + 1) end
  return offset, n, 0, 0, 0, 0, 0
end

-- A distinct counter leaves the bucket of the previous sighting (when the ring still holds it and it is not the
-- event's own bucket, where the caller moves it in place): lane - 1, clamped at 0. Returns the patch count. Two
-- sightings may leave one slot: the overlay (made here for a single event) lets the second see the first.
local function leaveBucket(edit, tier, lane, priorMs, timeMs, lastMs, patches, n)
  local width, slots = tier.widthMs, tier.slots
  local bucket = floor(priorMs / width)
  local head = floor(lastMs / width)
  if bucket == floor(timeMs / width) or bucket > head or bucket <= head - slots then return n end
  if not edit.overlay then edit.overlay = {} end
  local offset = tier.offset + (bucket % slots) * tier.slotSize
  local format = tier.slotFormat
  SLOT[1], SLOT[2], SLOT[3], SLOT[4], SLOT[5] = readSlot(edit, offset, format)
  local value = SLOT[lane] - 1
  if value < 0 then value = 0 end
  SLOT[lane] = value
  return writeSlot(edit, offset, spack(format, SLOT[1], SLOT[2], SLOT[3], SLOT[4], SLOT[5]), patches, n)
end

-- A distinct counter in the event's own slot: leaves the previous sighting first when that was in this very bucket
-- (two clamped steps, as two separate moves would make them), then counts this one.
local function sightingHere(value, priorMs, width, bucket, max)
  if priorMs ~= NO_TIME and floor(priorMs / width) == bucket then
    value = value - 1
    if value < 0 then value = 0 end
  end
  value = value + 1
  if value > max then value = max end
  return value
end

-- The aggregate `base` (as read, or zeros) with `header` in front and the writes (offset, bytes, ...: aligned,
-- not overlapping, the later of two at one offset winning) in place: the unchanged runs of `base` between them.
local function assemble(base, header, writes, n)
  local ascending, previous = true, -1
  for j = 1, n, 2 do
    local offset = writes[j]
    if offset <= previous then
      ascending = false
      break
    end
    previous = offset
  end
  if not ascending then
    -- Sorted by offset, then by position: the keys are numbers, so table.sort needs no comparator.
    local keys = {}
    for j = 1, n, 2 do keys[#keys + 1] = writes[j] * 1024 + j end
    table.sort(keys)
    local sorted, m = {}, 0
    for k = 1, #keys do
      local j = keys[k] % 1024
      local nextKey = keys[k + 1]
      if not nextKey or (nextKey - nextKey % 1024) ~= keys[k] - j then
        sorted[m + 1], sorted[m + 2] = writes[j], writes[j + 1]
        m = m + 2
      end
    end
    writes, n = sorted, m
  end
  local k, at = 1, #header
  PARTS[1] = header
  for j = 1, n, 2 do
    local offset, bytes = writes[j], writes[j + 1]
    if offset > at then
      k = k + 1
      PARTS[k] = string.sub(base, at + 1, offset)
    end
    k = k + 1
    PARTS[k] = bytes
    at = offset + #bytes
  end
  if at < #base then
    k = k + 1
    PARTS[k] = string.sub(base, at + 1)
  end
  return table.concat(PARTS, '', 1, k)
end

-- Above this many changed pieces, assembling the aggregate and one SET cost less than a SETRANGE per piece.
local PATCH_LIMIT = 6

-- Writes the call's end state and returns it when it assembled it (else false). A new aggregate, or one with more
-- than PATCH_LIMIT changed pieces (rings advanced over several buckets), is assembled (the runs between writes
-- come from the string as read, or are zeros that Lua interns) and SET, with its expiry. Otherwise it is patched in
-- place, one SETRANGE per changed slot and the header: cheap on a key just read, where assembling would copy the
-- whole string twice in Lua. Changes come from the transaction's patches (`writes`, header excluded) for a call of
-- one, else from the overlay. `ttl` (or false: the key's own is kept) sets the expiry.
local function storeEdits(edit, key, layout, header, ttl, writes, n)
  if edit.several then
    writes, n = {}, 0
    for offset, bytes in pairs(edit.overlay) do
      writes[n + 1], writes[n + 2] = offset, bytes
      n = n + 2
    end
  end
  local blob = edit.blob
  if not blob or n > 2 * PATCH_LIMIT then
    local stored = assemble(blob or layout.zeros, header, writes, n)
    if ttl then
      redis.call('SET', key, stored, 'PX', ttl)
    elseif blob then
      redis.call('SET', key, stored, 'KEEPTTL')
    else
      redis.call('SET', key, stored)
    end
    return stored
  end
  for j = 1, n, 2 do redis.call('SETRANGE', key, offsetString(writes[j]), writes[j + 1]) end
  redis.call('SETRANGE', key, '0', header)
  if ttl then redis.call('PEXPIRE', key, ttl) end
  return false
end

-- The end of an entity's call: stores its edits, if any (storeEdits), and when a call of one transaction assembled
-- the aggregates, replies with them whole (one string instead of a patch list: '' in place of the aggregates as read,
-- and the string in place of the transaction's patches). `reply` as updateCardAt and updateEntityAt build it.
local function storeCallEdits(edit, key, layout, header, ttl, writes, n, reply, count)
  if not edit then return end
  local stored = storeEdits(edit, key, layout, header, ttl, writes, n)
  if stored and count == 1 then reply[1], reply[2][2] = '', stored end
end
