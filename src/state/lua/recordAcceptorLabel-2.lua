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
--- @include "openAggregate"
--- @include "writeAggregate"
--- @include "addToLane"
--- @include "isLive"
--- @include "scoreBound"

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

local agg = openAggregate(layout, blob)
local last = agg.header[layout.headerIndex.last]
local days = layout.tiers[layout.tierOf.days]
local delta = 0
if label == LABEL.fraud then delta = delta + 1 end
if previous == LABEL.fraud then delta = delta - 1 end
local bucket = bucketOf(days, t)
if delta ~= 0 and isLive(days, bucket, last) then
  addToLane(agg, days, bucket, days.laneOf.fraud, delta)
  writeAggregate(agg, KEYS[1])
end
redis.call('ZADD', KEYS[2], math.floor(t / MINUTE_MS) * 4 + label, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', scoreBound(math.floor((last - days.widthMs * days.slots) / MINUTE_MS) * 4))
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if previous == NO_LABEL then return CODES.LabelApplied end
return CODES.LabelChanged
