--- @include "bucketOf"
-- A bucket is live while the ring still holds it: within `slots` buckets of the newest one, and not ahead of it.
local function isLive(tier, bucket, lastMs)
  local head = bucketOf(tier, lastMs)
  return bucket <= head and bucket > head - tier.slots
end
