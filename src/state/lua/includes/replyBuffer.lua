-- The reply of a call, built as binary strings (commands.ts readUpdateBatch joins and reads them): a nested table
-- reply cost more to encode (in Redis) and to decode (in the client) than the arithmetic it reported. Pieces are
-- collected in REPLY and joined into chunks of at most CHUNK_BYTES (unless one piece is longer): table.concat
-- builds a longer string in steps, making and hashing (Redis's Lua hashes every byte of a new string) an
-- intermediate string at each step, which cost a tenth of a batch's Redis time when the reply was one string.
local REPLY, replyLength, pendingBytes = {}, 0, 0
local CHUNKS, chunkCount = {}, 0
local CHUNK_BYTES = 8000 -- within one buffer of table.concat (LUAL_BUFFERSIZE: BUFSIZ, 8192 with glibc)
local rpack = struct.pack

local function flushChunk()
  chunkCount = chunkCount + 1
  CHUNKS[chunkCount] = table.concat(REPLY, '', 1, replyLength)
  replyLength, pendingBytes = 0, 0
end

local function put(piece)
  local size = #piece
  if pendingBytes + size > CHUNK_BYTES and replyLength > 0 then flushChunk() end
  replyLength = replyLength + 1
  REPLY[replyLength] = piece
  pendingBytes = pendingBytes + size
end

-- The reply: its chunks in order (an array reply; the client joins them).
local function replyChunks()
  if replyLength > 0 then flushChunk() end
  return CHUNKS
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
