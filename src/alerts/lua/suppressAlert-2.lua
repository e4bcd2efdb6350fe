--[[
  Alert suppression for one card, atomically: the Redis twin of createMemorySuppressor() in
  src/alerts/suppression.ts (keep the two line for line). Periods run in event time.

  KEYS[1]  the card's suppression hash: since (event ms of the alert that opened the period), level, id
  KEYS[2]  the candidate's memo: the alert as first published (alertMemoKey, same slot as KEYS[1])
  ARGV[1]  alert id of the candidate
  ARGV[2]  event time of the candidate, epoch ms
  ARGV[3]  level: 1 review, 2 block
  ARGV[4]  period, ms
  ARGV[5]  expiry of the hash, ms (wall clock; past it the record could no longer suppress anything)
  ARGV[6]  the candidate's alert as it would be published now (JSON)
  ARGV[7]  expiry of the memo, ms

  Reply: {code} or, for a redelivery whose memo is kept, {3, first publication}; codes 1 new, 2 escalated,
  3 redelivered, 0 suppressed (SuppressionReply in redis-suppressor.ts)
]]
local memo = redis.call('GET', KEYS[2])
if memo then return {3, memo} end

local record = redis.call('HMGET', KEYS[1], 'since', 'level', 'id')
local alertId = ARGV[1]
local eventMs = tonumber(ARGV[2])
local level = tonumber(ARGV[3])
local periodMs = tonumber(ARGV[4])

local function remember(code)
  redis.call('SET', KEYS[2], ARGV[6], 'PX', ARGV[7])
  return {code}
end

local function open(code)
  redis.call('HSET', KEYS[1], 'since', ARGV[2], 'level', ARGV[3], 'id', alertId)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return remember(code)
end

if not record[1] then return open(1) end
if record[3] == alertId then return remember(3) end
if level > tonumber(record[2]) then return open(2) end
local since = tonumber(record[1])
if eventMs >= since + periodMs or eventMs < since - periodMs then return open(1) end
return {0}
