--[[
  Appends a chunk's visits to their logs in one call: per key, one APPEND and its absolute expiry. The same
  expiry for every write of a log (its day's end plus the retention) keeps a redelivered chunk idempotent but for
  the duplicate entries, which readers drop. Keys: any number; on a cluster the caller groups them by slot.

  KEYS[i]        a visit log (a point's day, a card's week)
  ARGV[i]        the bytes to append to KEYS[i]
  ARGV[#KEYS+i]  its expiry, epoch ms
  Reply:         the number of logs written
]]
local n = #KEYS
for i = 1, n do
  redis.call('APPEND', KEYS[i], ARGV[i])
  redis.call('PEXPIREAT', KEYS[i], ARGV[n + i])
end
return n
