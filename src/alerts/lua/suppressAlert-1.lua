--[[
  Alert suppression for one card, atomically: the Redis twin of suppressionVerdict() in src/alerts/suppression.ts
  (keep the two line for line). Periods run in event time.

  KEYS[1]  the card's suppression hash: since (event ms of the alert that opened the period), level, id
  ARGV[1]  alert id of the candidate
  ARGV[2]  event time of the candidate, epoch ms
  ARGV[3]  level: 1 review, 2 block
  ARGV[4]  period, ms
  ARGV[5]  expiry of the hash, ms (wall clock; past it the record could no longer suppress anything)

  Reply: 1 new, 2 escalated, 3 redelivered, 0 suppressed (SuppressionReply in redis-suppressor.ts)
]]
local record = redis.call('HMGET', KEYS[1], 'since', 'level', 'id')
local alertId = ARGV[1]
local eventMs = tonumber(ARGV[2])
local level = tonumber(ARGV[3])
local periodMs = tonumber(ARGV[4])

local function open(reply)
  redis.call('HSET', KEYS[1], 'since', ARGV[2], 'level', ARGV[3], 'id', alertId)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return reply
end

if not record[1] then return open(1) end
if record[3] == alertId then return 3 end
if level > tonumber(record[2]) then return open(2) end
local since = tonumber(record[1])
if eventMs >= since + periodMs or eventMs < since - periodMs then return open(1) end
return 0
