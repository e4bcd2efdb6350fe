-- The reply of a call, built as one binary string (commands.ts readUpdateBatch reads it): a nested table reply cost
-- more to encode (in Redis) and to decode (in the client) than the arithmetic it reported. Pieces are collected in
-- REPLY and joined once at the end of the call.
local REPLY, replyLength = {}, 0
local rpack = struct.pack

local function put(piece)
  replyLength = replyLength + 1
  REPLY[replyLength] = piece
end

local function replyString()
  return table.concat(REPLY, '', 1, replyLength)
end

-- An entity whose stored aggregates have another layout: status 1 and nothing else.
local function putMismatch()
  put(rpack('<B', 1))
end

-- A transaction's code and what it changed: the whole aggregates (a string), or `entries` patch entries
-- (offset, bytes, ...), each as '<HH' offset and length, then the bytes.
local function putChange(code, change, entries)
  if type(change) == 'string' then
    put(rpack('<BBI4', code, 1, #change))
    put(change)
    return
  end
  put(rpack('<BBH', code, 0, entries / 2))
  for j = 1, entries, 2 do
    local bytes = change[j + 1]
    put(rpack('<HH', change[j], #bytes))
    put(bytes)
  end
end

-- An entity's reply: status 0, its transaction count and the aggregates as read ('' when none), then per
-- transaction its change and its tail, already packed. `reply` is { aggregates as read, then per transaction
-- { code, change, entries, tail } }.
local function putEntityReply(reply, count)
  local asRead = reply[1]
  put(rpack('<BHI4', 0, count, #asRead))
  if #asRead > 0 then put(asRead) end
  for i = 2, count + 1 do
    local entry = reply[i]
    putChange(entry[1], entry[2], entry[3])
    put(entry[4])
  end
end
