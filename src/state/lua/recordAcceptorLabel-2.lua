--[[
  Moves a terminal's or merchant's per-day fraud count for a labelled transaction. Idempotent per transaction:
  the same label twice changes nothing; a changed label moves the count back or forth. Twin: twin.ts recordAcceptorLabel.

  KEYS[1] aggregates   string, layout "acceptor" (layout.ts)
  KEYS[2] labels       sorted set: transactionId -> event minute * 4 + label (kept as long as the days ring)
  ARGV[1] transactionId
  ARGV[2] label: LABEL.fraud | LABEL.genuine
  ARGV[3] the transaction's event time, ms
  ARGV[4] time to live of the label set, ms
  Reply:  code: CODES.LabelApplied | CODES.LabelDuplicate | CODES.LabelChanged
                | CODES.LabelUnknownTransaction (no aggregates: the acceptor expired) | CODES.StateLayoutMismatch
]]
--- @include "aggregateFits"
--- @include "scoreBound"
--- @include "slotEdits"

local layout = layoutNamed('acceptor')
local blob = redis.call('GET', KEYS[1])
if not blob then return CODES.LabelUnknownTransaction end
if not aggregateFits(layout, blob) then return CODES.StateLayoutMismatch end

local label = tonumber(ARGV[2])
local t = tonumber(ARGV[3])
local previousScore = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]))
local previous = NO_LABEL
if previousScore then previous = previousScore % 4 end
if previous == label then return CODES.LabelDuplicate end

local _, last = struct.unpack(layout.headerFormat, blob)
local days = layout.tiers[layout.tierOf.days]
local delta = 0
if label == LABEL.fraud then delta = delta + 1 end
if previous == LABEL.fraud then delta = delta - 1 end
local bucket = math.floor(t / days.widthMs)
local head = math.floor(last / days.widthMs)
if delta ~= 0 and bucket <= head and bucket > head - days.slots then
  -- One slot changes: rewritten in place, counters clamped to 0..max as the TypeScript twin does.
  local offset = days.offset + (bucket % days.slots) * days.slotSize
  local lane = days.laneOf.fraud
  SLOT[1], SLOT[2], SLOT[3], SLOT[4], SLOT[5] = struct.unpack(days.slotFormat, blob, offset + 1)
  SLOT[lane] = math.min(layout.counterMax, math.max(0, SLOT[lane] + delta))
  redis.call('SETRANGE', KEYS[1], offset, struct.pack(days.slotFormat, SLOT[1], SLOT[2], SLOT[3], SLOT[4], SLOT[5]))
end
redis.call('ZADD', KEYS[2], math.floor(t / MINUTE_MS) * 4 + label, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', scoreBound(math.floor((last - days.widthMs * days.slots) / MINUTE_MS) * 4))
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if previous == NO_LABEL then return CODES.LabelApplied end
return CODES.LabelChanged
