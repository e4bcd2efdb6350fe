-- An exclusive score bound for ZREMRANGEBYSCORE, printed exactly (tostring keeps only 14 digits).
local function scoreBound(score)
  return string.format('(%.17g', score)
end
