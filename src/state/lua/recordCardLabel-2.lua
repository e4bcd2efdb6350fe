--[[
  Records a fraud or genuine label on one of the card's recent transactions and returns where that transaction
  happened, so the caller can update the terminal and merchant. Idempotent. Twin: twin.ts recordCardLabel.

  KEYS[1] aggregates   string, layout "card" (only its newest event time is read)
  KEYS[2] references   hash: transaction fingerprint -> struct '<I4BH' (event minute, label, #terminalId) .. terminalId .. merchantId
  ARGV[1] transaction fingerprint (8 bytes)
  ARGV[2] label: LABEL.fraud | LABEL.genuine
  ARGV[3] state horizon, ms: references older than this before the card's newest transaction are unknown
  Reply:  { CODES.LabelUnknownTransaction } or
          { code, eventTimeMs, terminalId, merchantId }   ('' when absent)
          code: CODES.LabelApplied | CODES.LabelDuplicate | CODES.LabelChanged
]]
local reference = redis.call('HGET', KEYS[2], ARGV[1])
if not reference then return { CODES.LabelUnknownTransaction } end
local minute, previous, terminalLength = struct.unpack('<I4BH', reference)
local aggregates = redis.call('GET', KEYS[1])
if aggregates and minute * MINUTE_MS < struct.unpack('<d', aggregates, 2) - tonumber(ARGV[3]) then
  return { CODES.LabelUnknownTransaction }
end

local label = tonumber(ARGV[2])
local terminalId = string.sub(reference, 8, 7 + terminalLength)
local merchantId = string.sub(reference, 8 + terminalLength)
local code
if previous == label then
  code = CODES.LabelDuplicate
else
  if previous == NO_LABEL then code = CODES.LabelApplied else code = CODES.LabelChanged end
  redis.call('HSET', KEYS[2], ARGV[1], struct.pack('<I4BH', minute, label, terminalLength) .. terminalId .. merchantId)
end
return { code, minute * MINUTE_MS, terminalId, merchantId }
