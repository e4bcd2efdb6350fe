local function bucketOf(tier, timeMs)
  return math.floor(timeMs / tier.widthMs)
end
